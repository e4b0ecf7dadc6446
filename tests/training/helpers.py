"""Pieces shared by the search tests' worker scripts."""
import textwrap

# Python source for a worker script: wait until both workers are up before searching (imports
# can be slow on a busy CI), so the two really do share the study. sys.argv[2] is the worker's
# log file; the barrier folder sits beside it.
BARRIER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    barrier = Path(sys.argv[2]).parent / "ready"
    barrier.mkdir(exist_ok=True)
    (barrier / str(os.getpid())).touch()
    deadline = time.time() + 60
    while len(list(barrier.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.05)
""")
