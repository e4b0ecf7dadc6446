"""How fast could any loop of torch ops over time run an LSTM? The floor, against nn.LSTM.

    python benchmarks/bench_floor.py                      # music and speech sizes, B = 1 and 32
    python benchmarks/bench_floor.py --json data/results/benchmarks/lstm_floor_cpu_1thread.json

On CPU, nn.LSTM runs oneDNN's fused kernel: the whole sequence in one call, forward and
backward. A cell written in torch ops pays one dispatch per op per step instead, and the
LSTM needs at least 11 of them per step (no peepholes):

    forward   pre = xw_t + h U          addmm          (gates ordered i, f, o, c̃ here)
              i, f, o = σ(pre_ifo)      sigmoid_
              c̃ = tanh(pre_c̃)           tanh_
              c = f ⊙ c + i ⊙ c̃         mul_, addcmul_
              h = o ⊙ tanh(c)           tanh, mul
    backward  dh = dout_t + dpre U      addmm
              dc = dout_c + dc ⊙ k      addcmul, addcmul_  (through c_{t+1}, then through h_t)
              dpre = (dc or dh) ⊙ K     mul                (one op for all four gates)

"floor" times exactly these ops on scratch buffers of the real sizes, with arbitrary
coefficients: it keeps no states, makes no per-step views, does no work before or after the
loop and computes no weight gradients. Every real implementation does strictly more, so
floor / native is a lower bound on the ratio any per-step loop of torch ops can reach.
"bptt" is gru_lib's hand-written backward through time (gru_lib/nn/bptt.py), for comparison.
Floor, native and bptt runs alternate; each number is the median of ``--repeats``.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib import Recurrent, make_cell  # noqa: E402
from gru_lib.atomic import atomic_write  # noqa: E402

SIZES = {"music": (88, 36), "speech": (20, 195)}         # (input D, LSTM units H), Table 1


def floor_loop(D, H, B, T):
    """A closure running the 11 ops per step an LSTM cannot do without, forward then backward."""
    xw_at = torch.randn(T, B, 4 * H).unbind(0)                     # per-step views, made once
    dout_at = torch.randn(T, B, H).unbind(0)
    U, U_t = torch.randn(H, 4 * H) / (4 * H), torch.randn(4 * H, H) / (4 * H)   # small: no overflow
    pre = torch.empty(B, 4 * H)                                    # i, f, o, c̃ of this step
    i, f, o, cand = pre.chunk(4, 1)
    ifo = pre[:, :3 * H]
    h, c, tanh_c = torch.zeros(B, H), torch.zeros(B, H), torch.empty(B, H)
    dh, dc = torch.zeros(B, H), torch.zeros(B, H)
    k_carry, k_c = torch.rand(B, H), torch.rand(B, H)
    K, d_pre = torch.rand(B, 4, H), torch.zeros(B, 4 * H)
    dc_spread, d_pre_4 = dc.unsqueeze(1), d_pre.view(B, 4, H)       # (B, 1, H) -> (B, 4, H)

    def run():
        for t in range(T):
            torch.addmm(xw_at[t], h, U, out=pre)
            ifo.sigmoid_()
            cand.tanh_()
            c.mul_(f).addcmul_(i, cand)
            torch.tanh(c, out=tanh_c)
            torch.mul(o, tanh_c, out=h)
        for t in range(T - 1, -1, -1):
            torch.addmm(dout_at[t], d_pre, U_t, out=dh)
            torch.addcmul(dout_at[t], dc, k_carry, out=dc).addcmul_(dh, k_c)
            torch.mul(dc_spread, K, out=d_pre_4)

    return run


def measure(D, H, B, T, repeats, warmup):
    torch.manual_seed(0)
    x = torch.randn(T, B, D)
    native = nn.LSTM(D, H)
    plain = Recurrent(make_cell("lstm", D, H, peepholes=False), backend="bptt")
    peep = Recurrent(make_cell("lstm", D, H), backend="bptt")
    floor = floor_loop(D, H, B, T)
    runs = {"floor": floor,
            "native": lambda: native(x)[0].sum().backward(),
            "bptt": lambda: plain(x).outputs.sum().backward(),
            "bptt_peepholes": lambda: peep(x).outputs.sum().backward()}
    times = {name: [] for name in runs}
    with torch.no_grad():
        for _ in range(warmup):
            floor()
    for _ in range(warmup):
        for name, run in runs.items():
            if name != "floor":
                run()
    for _ in range(repeats):                                     # interleaved: same machine load
        for name, run in runs.items():
            with torch.set_grad_enabled(name != "floor"):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--target", type=float, default=1.3, help="the ratio asked for (default 1.3)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.T < 1 or args.repeats < 1 or args.threads < 1 or min(args.batch) < 1:
        parser.error("--T, --repeats, --threads and --batch must be positive integers")

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread(s), oneDNN "
          f"{'on' if torch.backends.mkldnn.is_available() else 'unavailable'}, "
          f"{platform.processor() or platform.machine()}; T {args.T}, forward+backward, "
          f"median of {args.repeats}\n")
    header = ("| task | D | H | B | native ms | floor ms | floor / native | bptt ms | ratio "
              "| bptt, peepholes ms | ratio |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    rows = []
    for task in args.tasks:
        D, H = SIZES[task]
        for B in args.batch:
            ms = measure(D, H, B, args.T, args.repeats, args.warmup)
            row = dict(task=task, D=D, H=H, B=B, T=args.T, **{f"{k}_ms": v for k, v in ms.items()},
                       floor_ratio=ms["floor"] / ms["native"], bptt_ratio=ms["bptt"] / ms["native"],
                       bptt_peepholes_ratio=ms["bptt_peepholes"] / ms["native"])
            rows.append(row)
            print(f"| {task} | {D} | {H} | {B} | {ms['native']:.2f} | {ms['floor']:.2f} | "
                  f"{row['floor_ratio']:.2f} | {ms['bptt']:.2f} | {row['bptt_ratio']:.2f} | "
                  f"{ms['bptt_peepholes']:.2f} | {row['bptt_peepholes_ratio']:.2f} |", flush=True)
    out_of_reach = [r for r in rows if r["floor_ratio"] > args.target]
    print()
    for r in out_of_reach:
        print(f"{r['task']}, B = {r['B']}: even the floor is {r['floor_ratio']:.2f}x nn.LSTM, "
              f"so no per-step loop of torch ops can reach {args.target}x here.")
    if not out_of_reach:
        print(f"The floor is within {args.target}x of nn.LSTM at every size measured.")
    if args.json:
        atomic_write(args.json, json.dumps({"device": "cpu", "torch": torch.__version__,
                                            "threads": torch.get_num_threads(), "target": args.target,
                                            "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
