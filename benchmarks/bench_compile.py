"""Would torch.compile beat the hand-written backward? An experiment, not a library path.

    python benchmarks/bench_compile.py                  # music sizes, B = 1 and 32, T = 100
    python benchmarks/bench_compile.py --cpp-wrapper    # Inductor's C++ wrapper as well

The LSTM cell's own ``step`` runs inside ``torch._higher_order_ops.scan``, so the loop over
time stays a loop (no unrolling, one compile for any T) and Inductor compiles it for the CPU
as C++ (no Triton). Forward+backward is timed against nn.LSTM (oneDNN) and against
``Recurrent(cell, backend="bptt")``, interleaved, median of ``--repeats``. The script also
checks that the compiled layer agrees with the reference loop, and reports the compile time.
Needs a C++ compiler (Inductor's CPU backend); the library never does.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib import Recurrent, make_cell  # noqa: E402


def compiled_layer(cell):
    from torch._higher_order_ops.scan import scan

    def run(x):                                               # (T, B, D) -> (T, B, H)
        xw = cell.input_projection(x)

        def step(state, xw_t):
            # scan forbids aliasing among its inputs and outputs: the weight views are made
            # inside the body, and every output is a fresh tensor.
            h, c = cell.step((xw_t,), state, cell.step_weights())
            return (h.clone(), c.clone()), h.clone()

        h0, c0 = (x.new_zeros(x.shape[1], cell.hidden_size) for _ in range(2))  # two tensors, not one
        _, hs = scan(step, (h0, c0), xw)
        return hs

    return torch.compile(run, fullgraph=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpp-wrapper", action="store_true", help="also try Inductor's C++ wrapper")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import torch._inductor.config as inductor_config

    D, H, T = 88, 36, args.T
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); LSTM, music sizes "
          f"(D {D}, H {H}), T {T}; forward+backward, median of {args.repeats}\n")
    print("| cell | B | wrapper | compile s | max diff | native ms | bptt ms | compiled ms "
          "| compiled / native | compiled / bptt |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for peepholes in (False, True):
        for B in args.batch:
            for cpp in ([False, True] if args.cpp_wrapper else [False]):
                torch._dynamo.reset()
                inductor_config.cpp_wrapper = cpp
                torch.manual_seed(0)
                cell = make_cell("lstm", D, H, peepholes=peepholes)
                x = torch.randn(T, B, D)
                compiled = compiled_layer(cell)
                start = time.perf_counter()
                try:
                    out = compiled(x)
                    out.sum().backward()
                except Exception as error:                    # no compiler, unsupported op, ...
                    print(f"| peepholes={peepholes} | {B} | {'C++' if cpp else 'Python'} | failed: "
                          f"{type(error).__name__}: {str(error).splitlines()[0][:120]} |||||||")
                    continue
                compile_s = time.perf_counter() - start
                diff = (out - Recurrent(cell)(x).outputs).abs().max().item()
                native, fast = nn.LSTM(D, H), Recurrent(cell, backend="bptt")
                runs = {"native": lambda: native(x)[0].sum().backward(),
                        "bptt": lambda: fast(x).outputs.sum().backward(),
                        "compiled": lambda: compiled(x).sum().backward()}
                times = {name: [] for name in runs}
                for repeat in range(args.repeats + 3):
                    for name, fn in runs.items():
                        t0 = time.perf_counter()
                        fn()
                        if repeat >= 3:                       # three warm-up rounds
                            times[name].append(time.perf_counter() - t0)
                ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
                print(f"| peepholes={peepholes} | {B} | {'C++' if cpp else 'Python'} | {compile_s:.1f} "
                      f"| {diff:.1e} | {ms['native']:.2f} | {ms['bptt']:.2f} | {ms['compiled']:.2f} "
                      f"| {ms['compiled'] / ms['native']:.2f} | {ms['compiled'] / ms['bptt']:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
