#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/plot.py - ns per alloc+free pair against pool occupancy.

usage: plot.py RESULT.json [-o bench/occupancy.png] [--time cpu|real]
               [--threads 1] [--sizes 64,4096,65536,1048576]

One panel per size; one line per engine path (genpool engine and the
kernel-faithful baseline, for first fit and best fit) and per peer
(rte_malloc, jemalloc, glibc, mimalloc, tcmalloc), log scale.  Uses the
median aggregate when the JSON has repetitions.  Needs matplotlib (re-runs
itself with /usr/bin/python3 if the python3 at hand lacks it); without it,
writes the same panels as a hand-made SVG next to the requested file.
"""

import argparse
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import table  # noqa: E402  (same directory: run selection and parsing)

LINES = [
    # (impl, algo, label, style)
    ("engine", "first_fit", "genpool engine, first fit", "-"),
    ("reference", "first_fit", "kernel-faithful, first fit", "-"),
    ("engine", "best_fit", "genpool engine, best fit", "--"),
    ("reference", "best_fit", "kernel-faithful, best fit", "--"),
    ("rte_malloc", "-", "DPDK rte_malloc", ":"),
    ("jemalloc", "-", "jemalloc mallocx/sdallocx", ":"),
    ("glibc", "-", "glibc malloc", ":"),
    ("mimalloc", "-", "mimalloc", ":"),
    ("tcmalloc", "-", "tcmalloc", ":"),
]
COLORS = ["#1f77b4", "#d62728", "#17becf", "#ff7f0e", "#2ca02c",
          "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def series(runs, which, threads, size):
    """{(impl, algo): [(occ, ns), ...]} for one size and thread count."""
    out = {}
    for name, b in runs.items():
        m = table.POOL_RE.match(name)
        if not m or b.get("error_occurred"):
            continue
        impl, algo, occ, sz, thr = m.groups()
        if int(sz) != size or int(thr or 1) != threads:
            continue
        out.setdefault((impl, algo), []).append((int(occ),
                                                 table.ns(b, which)))
    for v in out.values():
        v.sort()
    return out


def plot_matplotlib(panels, title, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(panels)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 4.3 * rows),
                             squeeze=False)
    for ax, (size, data) in zip([a for r in axes for a in r], panels):
        for i, (impl, algo, label, style) in enumerate(LINES):
            pts = data.get((impl, algo))
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style,
                    marker="o", ms=3.5, color=COLORS[i], label=label)
        ax.set_yscale("log")
        ax.set_xlabel("pool occupancy (%)")
        ax.set_ylabel("ns per alloc+free pair")
        ax.set_title("size %s" % table.fmt_size(size))
        ax.set_xticks([0, 50, 90, 95])
        ax.grid(True, which="both", alpha=0.3)
    for ax in [a for r in axes for a in r][n:]:
        ax.axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.09, 1, 0.95))
    fig.savefig(path, dpi=110)
    return path


def plot_svg(panels, title, path):
    """A plain SVG with the same panels (no matplotlib needed)."""
    path = os.path.splitext(path)[0] + ".svg"
    pw, ph, m = 420, 300, 50
    cols = 2
    rows = (len(panels) + 1) // 2
    w, h = cols * pw, rows * ph + 140
    dash = {"-": "", "--": "6,4", ":": "2,3"}
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (w, h),
           '<rect width="100%%" height="100%%" fill="white"/>',
           '<text x="%d" y="18" text-anchor="middle">%s</text>' %
           (w // 2, title)]
    for k, (size, data) in enumerate(panels):
        ox, oy = (k % cols) * pw + m, (k // cols) * ph + 30
        iw, ih = pw - m - 15, ph - m - 20
        vals = [v for pts in data.values() for _, v in pts if v and v > 0]
        if not vals:
            continue
        lo = 10 ** math.floor(math.log10(min(vals)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        if hi <= lo:
            hi = lo * 10

        def px(occ):
            return ox + iw * occ / 100.0

        def py(v):
            return oy + ih - ih * (math.log10(v) - math.log10(lo)) / \
                (math.log10(hi) - math.log10(lo))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
                   'stroke="black"/>' % (ox, oy, iw, ih))
        out.append('<text x="%d" y="%d" text-anchor="middle">size %s</text>'
                   % (ox + iw // 2, oy - 5, table.fmt_size(size)))
        d = lo
        while d <= hi:
            out.append('<text x="%d" y="%.0f" text-anchor="end">%g</text>'
                       % (ox - 4, py(d) + 4, d))
            d *= 10
        for occ in (0, 50, 90, 95):
            out.append('<text x="%.0f" y="%d" text-anchor="middle">%d%%'
                       '</text>' % (px(occ), oy + ih + 14, occ))
        for i, (impl, algo, label, style) in enumerate(LINES):
            pts = [(o, v) for o, v in data.get((impl, algo), []) if v]
            if not pts:
                continue
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.5"'
                       ' stroke-dasharray="%s" points="%s"/>' % (
                           COLORS[i], dash[style],
                           " ".join("%.1f,%.1f" % (px(o), py(v))
                                    for o, v in pts)))
    for i, (impl, algo, label, style) in enumerate(LINES):
        x, y = 20 + (i % 3) * 280, rows * ph + 60 + (i // 3) * 18
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" '
                   'stroke-width="2" stroke-dasharray="%s"/>' %
                   (x, y, x + 30, y, COLORS[i], dash[style]))
        out.append('<text x="%d" y="%d">%s</text>' % (x + 36, y + 4, label))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("-o", "--output",
                    default=os.path.join(os.path.dirname(
                        os.path.abspath(__file__)), "occupancy.png"))
    ap.add_argument("--time", choices=["cpu", "real"], default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", default="64,4096,65536,1048576")
    a = ap.parse_args()
    data = table.load(a.json)
    runs = table.pick_runs(data)
    ctx = data.get("context", {})
    panels = [(s, series(runs, a.time, a.threads, s))
              for s in (int(x) for x in a.sizes.split(","))]
    panels = [p for p in panels if p[1]]
    if not panels:
        print("plot: no pool benchmarks in %s" % a.json, file=sys.stderr)
        return 1
    title = "genpool-bench: alloc+free, %d thread%s, %s time, %s, %s, %s" % (
        a.threads, "" if a.threads == 1 else "s", a.time,
        ctx.get("cpu_model", "?"), ctx.get("compiler", "?"),
        ctx.get("build_type", "?"))
    title = re.sub(r"\s+", " ", title)
    try:
        out = plot_matplotlib(panels, title, a.output)
    except ImportError:
        # Debian's python3-matplotlib lives in the system Python; a
        # python3 from elsewhere (pyenv, a venv) may not see it.
        syspy = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(syspy) \
                and os.access(syspy, os.X_OK) \
                and not os.environ.get("GP_PLOT_NO_REEXEC"):
            os.environ["GP_PLOT_NO_REEXEC"] = "1"
            os.execv(syspy, [syspy] + sys.argv)
        out = plot_svg(panels, title, a.output)
    print("plot: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
