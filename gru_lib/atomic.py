"""Every file the library writes is written atomically: to a temporary file beside it, then
renamed into place. A crash, a Ctrl-C or a full disk midway leaves the previous version (or
nothing), never half a file -- so a resumed run always finds a readable checkpoint, and a
download that failed its check never sits at the name a user would trust.

    >>> write_atomically("song.mid", midi.write)      # any writer that takes a binary file
    >>> atomic_write("results.json", json.dumps(d))   # bytes or text
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path, write):
    """Create ``path`` by calling ``write(f)`` on a temporary file beside it, then renaming.

    A crash or an exception midway leaves no half-written file at ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def atomic_write(path, data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path``, creating its folder, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    write_atomically(path, lambda f: f.write(payload))
