"""Time per step of the hand-written cells and of torch.nn, against hidden size and length.

    python benchmarks/plot_scaling.py --out data/results/benchmarks/scaling.png

Forward+backward, batch 32, input 88 (music); median of interleaved runs as in
bench_cells.py: the readable loop (backend="python"), the hand-written backward
(backend="bptt") and torch.nn. Left: T = 100, hidden size 16..256. Right: hidden size at the paper's music
sizes, T = 25..1000. Writes the PNG and a JSON of the numbers beside it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_cells import CELLS, measure  # noqa: E402

from gru_lib import pick_device  # noqa: E402
from gru_lib.experiments.plotting import save_figure  # noqa: E402

PAPER_MUSIC_UNITS = {"tanh": 100, "gru": 46, "lstm": 36}
SHOWN = ["gru (paper form)", "lstm (peepholes)", "tanh"]   # one line pair per kind


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/results/benchmarks/scaling.png"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--replot", action="store_true", help="redraw the PNG from the JSON beside it")
    args = parser.parse_args(argv)
    if args.replot:
        return draw(json.loads(args.out.with_suffix(".json").read_text()), args.out)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)

    cells = [c for c in CELLS if c[0] in SHOWN]
    hidden_sizes, lengths = [16, 32, 64, 128, 256], [25, 100, 400, 1000]
    data = {"hidden": {}, "length": {}, "batch": args.batch, "device": str(device),
            "threads": torch.get_num_threads()}
    for label, kind, options, native_cls in cells:
        data["hidden"][label] = [measure(kind, options, native_cls, 88, H, args.batch, 100, device,
                                         2, args.repeats) for H in hidden_sizes]
        H = PAPER_MUSIC_UNITS[kind]
        data["length"][label] = [measure(kind, options, native_cls, 88, H, args.batch, T, device,
                                         1, max(3, args.repeats // 2)) for T in lengths]
        print(f"{label}: done", flush=True)
    data.update(hidden_sizes=hidden_sizes, lengths=lengths)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1))
    draw(data, args.out)


def draw(data, out):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, LogLocator, NullLocator, ScalarFormatter

    from gru_lib.experiments.plotting import BOOK_STYLE, COLOURS, COLUMN_WIDTH

    hidden_sizes, lengths = data["hidden_sizes"], data["lengths"]
    cells = [c for c in CELLS if c[0] in SHOWN]
    # Colour = the model, line style = how it runs: two short legends instead of one per line.
    styles = {"custom": ("o-", "gru_lib, backend='python'"), "bptt": ("^:", "gru_lib, backend='bptt'"),
              "native": ("s--", "torch.nn (oneDNN)")}
    with plt.rc_context(BOOK_STYLE):
        fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.6), sharey=True)
        for label, kind, _, native_cls in cells:
            for ax, xs, key, T_of in ((left, hidden_sizes, "hidden", lambda i: 100),
                                      (right, lengths, "length", lambda i: lengths[i])):
                runs = data[key][label]
                for impl, (style, _) in styles.items():
                    if all(impl in r for r in runs):
                        ax.plot(xs, [1e6 * r[impl] / T_of(i) for i, r in enumerate(runs)], style,
                                color=COLOURS[kind], ms=3.5, lw=1.2, alpha=0.7 if impl == "native" else 1)
        left.set(xscale="log", yscale="log", xlabel="hidden units (T = 100)", ylabel="µs per step (fwd + bwd)")
        right.set(xscale="log", xlabel="sequence length T (paper's music sizes)")
        for ax, ticks in ((left, hidden_sizes), (right, lengths)):
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))   # 20, 50, 100, 200, ...
            ax.yaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.grid(True, which="both", alpha=0.3)
        models = [Line2D([], [], color=COLOURS[kind], lw=2, label=label) for label, kind, _, _ in cells]
        ways = [Line2D([], [], color="0.3", marker=style[0], ls=style[1:], ms=3.5, label=name)
                for style, name in styles.values()]
        fig.legend(handles=models + ways, loc="outside lower center", ncol=3, fontsize=8)
        fig.suptitle(f"hand-written cells vs torch.nn: batch {data['batch']}, {data['device']}, "
                     f"{data['threads']} thread(s)", fontsize=10)
    save_figure(fig, out)
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
