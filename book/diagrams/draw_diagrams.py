"""Draw the book's diagrams of the recurrent units, as SVG files in this folder.

    python book/diagrams/draw_diagrams.py            # writes the four SVGs below
    python book/diagrams/draw_diagrams.py --png DIR  # also a PNG of each, to look at

* ``unrolled_rnn.svg``: the tanh-RNN unrolled over time, forward arrows and the
  backward path of delta_t = dL/dh_t (chapter 1, backpropagation through time);
* ``lstm_cell.svg``: the LSTM with peepholes, the paper's equations (1)-(4) (chapter 2);
* ``gru_paper.svg``: the paper's GRU, reset applied BEFORE the matrix U (chapter 3);
* ``gru_torch.svg``: torch.nn.GRU's (cuDNN's) form, reset AFTER the matrix (chapter 3).

The symbols are those of the chapters' equations (and of ``gru_lib.nn.cells``).
Each figure is 6.8 in wide, drawn at 1 data unit = 1 inch, so it fits the book's
text column at full size; labels are 9-10 pt. Only matplotlib is needed.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402

HERE = Path(__file__).resolve().parent
WIDTH = 6.8                       # inches: the book's column (COLUMN_WIDTH)
INK = "#222222"                   # lines and text
FILL = "#f3f3f3"                  # boxes
GATE_FILL = "#fff6df"             # sigmoid gates
ACCENT = {"lstm": "tab:blue", "gru": "tab:red", "tanh": "tab:green"}   # COLOURS
GRAD = "#8e44ad"                  # the backward (gradient) path: no model's colour
PEEP = "#5b7fa6"                  # peephole connections
FONT = 10
SMALL = 9
LW = 1.3
BOX_W, BOX_H = 0.5, 0.32
NODE_R = 0.12
ONE_R = 0.15                      # the "1 -" node

plt.rcParams.update({"font.size": FONT, "mathtext.fontset": "dejavusans",
                     "svg.fonttype": "path", "svg.hashsalt": "gru_lib"})


def canvas(height: float):
    fig = plt.figure(figsize=(WIDTH, height), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def line(ax, points, color=INK, lw=LW, ls="-", arrow=True, z=1, gap=False):
    """A polyline through ``points``, with an arrowhead at the last point."""
    xs, ys = zip(*points)
    if gap:   # a white halo under the line: where it crosses another, it bridges it
        ax.plot(xs, ys, color="white", lw=lw + 5, solid_capstyle="butt", zorder=z)
    body = len(points) - 1 if arrow else len(points)
    if body >= 2:
        ax.plot(xs[:body], ys[:body], color=color, lw=lw, ls=ls, zorder=z + 0.1,
                solid_capstyle="butt")
    if arrow:
        ax.annotate("", xy=points[-1], xytext=points[-2], zorder=z + 0.2,
                    arrowprops=dict(arrowstyle="-|>,head_length=0.45,head_width=0.2",
                                    color=color, lw=lw, ls=ls, shrinkA=0, shrinkB=0))


def box(ax, x, y, text, w=BOX_W, h=BOX_H, fill=FILL, size=FONT, edge=INK):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, zorder=3,
                                boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor=fill, edgecolor=edge, lw=LW))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, zorder=4, color=INK)


def node(ax, x, y, symbol, r=NODE_R, size=FONT + 1):
    ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=INK, lw=LW, zorder=3))
    ax.text(x, y - 0.005, symbol, ha="center", va="center", fontsize=size, zorder=4)


def label(ax, x, y, text, size=FONT, color=INK, **kw):
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    ax.text(x, y, text, fontsize=size, color=color, zorder=5, **kw)


def dot(ax, x, y, color=INK):
    ax.add_patch(Circle((x, y), 0.03, color=color, zorder=3))


def state_line(ax, y, x_mul, x_add, old, new, color):
    """A cell's carried state, drawn thick: old -> (×) -> (+) -> new, the additive path."""
    label(ax, 0.3, y, old)
    line(ax, [(0.6, y), (x_mul - NODE_R, y)], color=color, lw=2.4, arrow=False)
    line(ax, [(x_mul + NODE_R, y), (x_add - NODE_R, y)], color=color, lw=2.4, arrow=False)
    line(ax, [(x_add + NODE_R, y), (6.15, y)], color=color, lw=2.4)
    label(ax, 6.42, y, new)
    node(ax, x_mul, y, r"$\times$")
    node(ax, x_add, y, r"$+$")


# ---------------------------------------------------------------- unrolled tanh-RNN (BPTT)
def unrolled_rnn():
    fig, ax = canvas(2.75)
    cols = [1.3, 2.6, 3.9, 5.55]                 # t = 1, 2, 3, T
    names = ["1", "2", "3", "T"]
    y_x, y_h, y_L = 0.2, 1.3, 2.3
    green = ACCENT["tanh"]
    label(ax, 0.25, y_h, r"$h_0$")
    prev = 0.42
    for k, (cx, t) in enumerate(zip(cols, names)):
        label(ax, cx, y_x, rf"$x_{t}$")
        line(ax, [(cx, y_x + 0.15), (cx, y_h - BOX_H / 2)])
        label(ax, cx + 0.1, (y_x + y_h) / 2 - 0.05, r"$W$", size=SMALL, ha="left", color="#555")
        box(ax, cx, y_h, rf"$h_{t}$", w=0.55, edge=green)
        line(ax, [(cx, y_h + BOX_H / 2), (cx, y_L - 0.15)])
        label(ax, cx, y_L + 0.02, rf"$L_{t}$")
        # forward: h_{t-1} -> h_t
        if k == 3:                               # the dots between step 3 and step T
            line(ax, [(prev, y_h + 0.05), (prev + 0.25, y_h + 0.05)], arrow=False)
            label(ax, (prev + cx) / 2 - 0.02, y_h + 0.05, r"$\cdots$", size=FONT + 2)
            line(ax, [(cx - 0.55, y_h + 0.05), (cx - 0.275, y_h + 0.05)])
        else:
            line(ax, [(prev, y_h + 0.05), (cx - 0.275, y_h + 0.05)])
            label(ax, (prev + cx - 0.275) / 2, y_h + 0.2, r"$U$", size=SMALL, color="#555")
        # backward: delta_{t+1} -> delta_t along J_{t+1}^T, below the forward arrow
        if k > 0 and k < 3:
            line(ax, [(cx - 0.275, y_h - 0.08), (prev, y_h - 0.08)], color=GRAD, ls="--")
        if k == 3:
            line(ax, [(cx - 0.275, y_h - 0.08), (cx - 0.55, y_h - 0.08)], color=GRAD, ls="--",
                 arrow=False)
            line(ax, [(prev + 0.25, y_h - 0.08), (prev, y_h - 0.08)], color=GRAD, ls="--")
        # the direct part dL_t/dh_t, from the loss down to the state
        line(ax, [(cx + 0.17, y_L - 0.15), (cx + 0.17, y_h + BOX_H / 2)], color=GRAD, ls="--",
             lw=1.1)
        prev = cx + 0.275
    label(ax, (cols[1] + cols[2]) / 2, y_h - 0.3, r"$J_{t+1}^{\top}\,\delta_{t+1}$",
          size=SMALL, color=GRAD)
    label(ax, cols[0] + 0.25, (y_h + y_L) / 2 + 0.05, r"$\partial L_t / \partial h_t$",
          size=SMALL, color=GRAD, ha="left")
    # legend
    top = y_L + 0.32
    ax.plot([0.35, 0.75], [top] * 2, color=INK, lw=LW)
    label(ax, 0.85, top, r"forward: $h_t = \tanh(W x_t + U h_{t-1} + b)$", size=SMALL,
          ha="left")
    ax.plot([3.75, 4.15], [top] * 2, color=GRAD, lw=LW, ls="--")
    label(ax, 4.25, top, r"backward: $\delta_t = \partial L / \partial h_t$", size=SMALL,
          ha="left", color=GRAD)
    label(ax, cols[3] + 0.3, y_L + 0.02, r"$L = \sum_t L_t$", size=SMALL,
          ha="left", color="#555")
    return fig


# ---------------------------------------------------------------- LSTM with peepholes
def lstm_cell():
    fig, ax = canvas(3.35)
    blue = ACCENT["lstm"]
    y_c, y_m, y_g, y_b = 2.8, 2.1, 1.3, 0.5     # cell line, products, gates, input bus
    x_f, x_i, x_c, x_o, x_out = 1.9, 2.8, 3.6, 4.6, 5.5
    gw = BOX_W / 2
    # the cell state's additive path: c_{t-1} -> x f_t -> + i_t c~_t -> c_t
    state_line(ax, y_c, x_f, x_c, r"$c_{t-1}$", r"$c_t$", blue)
    label(ax, (x_f + x_c) / 2 + 0.6, y_c + 0.3,
          r"cell state: $c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t$", size=SMALL,
          color=blue)
    # inputs: h_{t-1} and x_t on one bus feeding the four blocks
    label(ax, 0.3, y_b, r"$h_{t-1}$")
    line(ax, [(0.6, y_b), (x_o, y_b)], arrow=False)
    label(ax, 1.1, 0.08, r"$x_t$")
    line(ax, [(1.1, 0.22), (1.1, y_b)], arrow=False)
    dot(ax, 1.1, y_b)
    for x, sym, name, fill in ((x_f, r"$\sigma$", "forget", GATE_FILL),
                               (x_i, r"$\sigma$", "input", GATE_FILL),
                               (x_c, r"$\tanh$", "candidate", FILL),
                               (x_o, r"$\sigma$", "output", GATE_FILL)):
        line(ax, [(x, y_b), (x, y_g - BOX_H / 2)])
        box(ax, x, y_g, sym, fill=fill)
        label(ax, x + 0.05, (y_b + y_g) / 2 - 0.07, name, size=SMALL - 1, color="#666",
              ha="left")
        if x != x_o:
            dot(ax, x, y_b)
    # forget gate -> x on the cell line
    line(ax, [(x_f, y_g + BOX_H / 2), (x_f, y_c - NODE_R)])
    label(ax, x_f + 0.07, y_m + 0.05, r"$f_t$", ha="left")
    # input gate and candidate -> x -> +
    node(ax, x_c, y_m, r"$\times$")
    line(ax, [(x_i, y_g + BOX_H / 2), (x_i, y_m), (x_c - NODE_R, y_m)])
    label(ax, (x_i + x_c) / 2 - 0.05, y_m + 0.15, r"$i_t$")
    line(ax, [(x_c, y_g + BOX_H / 2), (x_c, y_m - NODE_R)])
    label(ax, x_c + 0.07, (y_g + y_m) / 2 + 0.05, r"$\tilde c_t$", ha="left")
    line(ax, [(x_c, y_m + NODE_R), (x_c, y_c - NODE_R)])
    # output: h_t = o_t * tanh(c_t)
    line(ax, [(x_out, y_c), (x_out, y_m + BOX_H / 2)])
    dot(ax, x_out, y_c, color=blue)
    box(ax, x_out, y_m, r"$\tanh$", fill="white")
    node(ax, x_out, y_g, r"$\times$")
    line(ax, [(x_out, y_m - BOX_H / 2), (x_out, y_g + NODE_R)])
    line(ax, [(x_o + gw, y_g), (x_out - NODE_R, y_g)])
    label(ax, (x_o + gw + x_out - NODE_R) / 2, y_g + 0.15, r"$o_t$")
    line(ax, [(x_out + NODE_R, y_g), (6.15, y_g)])
    label(ax, 6.42, y_g, r"$h_t$")
    # peepholes: V_f c_{t-1}, V_i c_{t-1} into the forget and input gates, V_o c_t into o
    x_p, y_p = 1.3, 1.78
    line(ax, [(x_p, y_c), (x_p, y_g), (x_f - gw, y_g)], color=PEEP, ls="--", lw=1.1)
    dot(ax, x_p, y_c, color=blue)
    line(ax, [(x_p, y_p), (x_i - 0.38, y_p), (x_i - 0.38, y_g), (x_i - gw, y_g)],
         color=PEEP, ls="--", lw=1.1, gap=True)
    x_q = x_o - 0.48
    line(ax, [(x_q, y_c), (x_q, y_g), (x_o - gw, y_g)], color=PEEP, ls="--", lw=1.1)
    dot(ax, x_q, y_c, color=blue)
    for x, y, text in ((x_p - 0.05, y_g + 0.2, r"$V_f$"), (x_i - 0.45, y_g + 0.2, r"$V_i$"),
                       (x_q - 0.05, y_g + 0.2, r"$V_o$")):
        label(ax, x, y, text, size=SMALL, color=PEEP, ha="right")
    label(ax, 6.15, 0.5, "dashed: peepholes\nfrom the cell", size=SMALL - 1, color=PEEP,
          ha="right")
    return fig


# ---------------------------------------------------------------- the two GRUs
def gru(form: str):
    """``form="paper"``: reset before U, z weights the candidate (chapter 3, (5)-(8));
    ``form="torch"``: nn.GRU's reset after the matrix, z weights the old state."""
    paper = form == "paper"
    fig, ax = canvas(3.6)
    red = ACCENT["gru"]
    y_e, y_s, y_m, y_g, y_b = 3.3, 2.75, 1.95, 1.2, 0.5   # equations, state, chain, gates, bus
    x_tap, x_w, x_tanh, x_z, x_out = 0.9, 3.25, 3.95, 4.75, 5.55
    # equations, as in chapter 3
    if paper:
        eqs = (r"$\tilde h_t = \tanh(W x_t + U (r_t \odot h_{t-1}))$",
               r"$h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$")
    else:
        eqs = (r"$n_t = \tanh(W_{in} x_t + b_{in}"
               r" + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$",
               r"$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$")
    label(ax, 0.3, y_e, eqs[0], size=SMALL, ha="left")
    label(ax, 6.5, y_e, eqs[1], size=SMALL, ha="right", color=red)
    # the state line: h_{t-1} -> x -> + -> h_t
    state_line(ax, y_s, x_z, x_out, r"$h_{t-1}$", r"$h_t$", red)
    dot(ax, x_tap, y_s, color=red)
    # the bus: h_{t-1} and x_t into the two gates; x_t alone, below it, into W
    line(ax, [(x_tap, y_s), (x_tap, y_b), (x_z, y_b)], arrow=False)
    label(ax, 1.1, 0.08, r"$x_t$")
    line(ax, [(1.1, 0.22), (1.1, y_b)], arrow=False)
    dot(ax, 1.1, y_b)
    y_x = 0.3                                  # the x_t-only line under the bus
    line(ax, [(1.1, y_x), (x_w, y_x)], arrow=False)
    dot(ax, 1.1, y_x)
    x_r = 1.45 if paper else 2.45
    gates = [(x_r, r"$\sigma$", "reset", GATE_FILL), (x_z, r"$\sigma$", "update", GATE_FILL),
             (x_w, r"$W$" if paper else r"$W_{in}$", "", FILL)]
    for x, sym, name, fill in gates:
        if x == x_w:    # from the x_t line, bridging the bus
            line(ax, [(x, y_x), (x, y_g - BOX_H / 2)], gap=True, z=2)
        else:
            line(ax, [(x, y_b), (x, y_g - BOX_H / 2)])
        box(ax, x, y_g, sym, fill=fill, size=FONT if paper or x != x_w else SMALL)
        if name:
            label(ax, x + 0.05, (y_b + y_g) / 2 - 0.07, name, size=SMALL - 1, color="#666",
                  ha="left")
        if x not in (x_z, x_w):
            dot(ax, x, y_b)
    # the candidate's chain, where the reset acts
    dot(ax, x_tap, y_m)
    node(ax, x_r, y_m, r"$\times$")
    line(ax, [(x_r, y_g + BOX_H / 2), (x_r, y_m - NODE_R)])
    label(ax, x_r + 0.07, (y_g + y_m) / 2 + 0.02, r"$r_t$", ha="left")
    node(ax, x_w, y_m, r"$+$")
    line(ax, [(x_w, y_g + BOX_H / 2), (x_w, y_m - NODE_R)])
    label(ax, x_w + 0.07, (y_g + y_m) / 2 + 0.02,
          r"$W x_t$" if paper else r"$W_{in} x_t + b_{in}$", ha="left", size=SMALL)
    if paper:      # h_{t-1} -> (x r_t) -> U -> (+ W x_t) -> tanh
        x_u, u_w = 2.5, 0.5
        line(ax, [(x_tap, y_m), (x_r - NODE_R, y_m)])
        line(ax, [(x_r + NODE_R, y_m), (x_u - u_w / 2, y_m)])
        label(ax, (x_r + x_u - u_w / 2) / 2 + 0.03, y_m + 0.17, r"$r_t \odot h_{t-1}$",
              size=SMALL)
        box(ax, x_u, y_m, r"$U$", w=u_w)
        line(ax, [(x_u + u_w / 2, y_m), (x_w - NODE_R, y_m)])
        label(ax, 2.35, y_m - 0.4, "reset before\nthe matrix U", size=SMALL - 1,
              color=red)
    else:          # h_{t-1} -> (W_hn . + b_hn) -> (x r_t) -> (+ W_in x_t + b_in) -> tanh
        x_u, u_w = 1.62, 0.9
        line(ax, [(x_tap, y_m), (x_u - u_w / 2, y_m)])
        box(ax, x_u, y_m, r"$W_{hn} \cdot + \, b_{hn}$", w=u_w, size=SMALL)
        line(ax, [(x_u + u_w / 2, y_m), (x_r - NODE_R, y_m)])
        line(ax, [(x_r + NODE_R, y_m), (x_w - NODE_R, y_m)])
        label(ax, 1.62, y_m - 0.4, "reset after\nthe matrix", size=SMALL - 1,
              color=red)
    line(ax, [(x_w + NODE_R, y_m), (x_tanh - BOX_W / 2, y_m)])
    box(ax, x_tanh, y_m, r"$\tanh$")
    cand = r"$\tilde h_t$" if paper else r"$n_t$"
    # candidate -> x (its weight) -> + on the state line; the update gate crosses it
    node(ax, x_out, y_m, r"$\times$")
    line(ax, [(x_tanh + BOX_W / 2, y_m), (x_out - NODE_R, y_m)])
    label(ax, (x_tanh + BOX_W / 2 + x_z) / 2, y_m + 0.17, cand)
    line(ax, [(x_out, y_m + NODE_R), (x_out, y_s - NODE_R)])
    # update gate: to the old state's product and to the candidate's
    y_k = 2.38                                    # the 1 - z node
    gw = BOX_W / 2
    if paper:      # (1 - z) h_{t-1} + z h~
        line(ax, [(x_z, y_g + BOX_H / 2), (x_z, y_k - ONE_R)], gap=True, z=2)
        node(ax, x_z, y_k, r"$1-$", r=ONE_R, size=SMALL - 1)
        line(ax, [(x_z, y_k + ONE_R), (x_z, y_s - NODE_R)])
        label(ax, x_z - 0.07, 1.64, r"$z_t$", ha="right")
        line(ax, [(x_z + gw, y_g), (x_out, y_g), (x_out, y_m - NODE_R)])
        label(ax, x_out + 0.07, (y_g + y_m) / 2, r"$z_t$", ha="left")
    else:          # z h_{t-1} + (1 - z) n
        line(ax, [(x_z, y_g + BOX_H / 2), (x_z, y_s - NODE_R)], gap=True, z=2)
        label(ax, x_z - 0.07, y_k + 0.1, r"$z_t$", ha="right")
        x_k = 5.2
        line(ax, [(x_z + gw, y_g), (x_k - ONE_R, y_g)])
        node(ax, x_k, y_g, r"$1-$", r=ONE_R, size=SMALL - 1)
        line(ax, [(x_k + ONE_R, y_g), (x_out, y_g), (x_out, y_m - NODE_R)])
        label(ax, x_out + 0.07, (y_g + y_m) / 2, r"$1 - z_t$", ha="left", size=SMALL)
    return fig


FIGURES = {"unrolled_rnn": unrolled_rnn, "lstm_cell": lstm_cell,
           "gru_paper": lambda: gru("paper"), "gru_torch": lambda: gru("torch")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, help="also write a PNG of each to this folder")
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(FIGURES)}")
    args = parser.parse_args(argv)
    for name in args.names or FIGURES:
        fig = FIGURES[name]()
        fig.savefig(HERE / f"{name}.svg", metadata={"Date": None})
        if args.png:
            args.png.mkdir(parents=True, exist_ok=True)
            fig.savefig(args.png / f"{name}.png", dpi=150)
        plt.close(fig)
        print(f"wrote {HERE / name}.svg")


if __name__ == "__main__":
    main()
