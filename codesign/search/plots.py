"""The sweep's PNGs: Pareto front, roofline with the chosen designs, best design's breakdown.

matplotlib with the Agg backend, fixed figure size and DPI, and no metadata in
the PNG (``metadata={"Software": None}``), so identical inputs give identical
bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine import HIST_BINS, HIST_RANGE

DPI = 110
PNG_META = {"Software": None}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _log_axes(ax) -> None:
    """Log-log axes with major ticks only (minor log ticks dominate the drawing time)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_locator(NullLocator())
    ax.grid(True, which="major", alpha=0.25)


def _save(fig, path: Path) -> None:
    import io

    from ..fsutil import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=PNG_META)
    atomic_write_bytes(path, buf.getvalue())


def write_all(dest: Path, job, sweeper, state, chosen, summary) -> None:
    plt = _plt()
    try:
        pareto_plot(plt, dest / "pareto.png", job, sweeper, state, chosen)
        roofline_plot(plt, dest / "roofline.png", job, sweeper, state, chosen)
        breakdown_plot(plt, dest / "breakdown.png", job, sweeper, chosen, summary)
    finally:
        plt.close("all")


def _title(job, sweeper, width: int) -> str:
    import textwrap
    w = job.workload
    # the accuracy note is long (source, sparse rows, tie rule): wrapped, so the figure does not clip it
    return (f"{job.model} on {job.device} (batch {w.batch}, prompt {w.prompt}, generate {w.generate})\n"
            + "\n".join(textwrap.wrap(sweeper.accuracy.describe(), width)))


def _crop(hist: np.ndarray):
    """Bin ranges (x, y) around the occupied cells of a histogram, one bin of margin."""
    ys, xs = np.nonzero(hist)
    return ((max(xs.min() - 1, 0), min(xs.max() + 2, HIST_BINS)),
            (max(ys.min() - 1, 0), min(ys.max() + 2, HIST_BINS)))


def rejection_summary(job, state) -> str:
    """Which constraints reject feasible points, and how many each (a point may fail several)."""
    from .constraints import CONSTRAINT_FIELDS

    parts = []
    for j, name in enumerate(CONSTRAINT_FIELDS):
        n = int(state.constraint_fail[j])
        if n:
            _, kind, _ = CONSTRAINT_FIELDS[name]
            column = name.split("_", 1)[1]
            parts.append(f"{column} {'<=' if kind == 'max' else '>='} {getattr(job.constraints, name):g} "
                         f"rejects {n:,}")
    return "; ".join(parts)


def _bboxes_overlap(a, b, pad: float = 1.0) -> bool:
    return not (a.x1 + pad <= b.x0 or b.x1 + pad <= a.x0 or a.y1 + pad <= b.y0 or b.y1 + pad <= a.y0)


def place_labels(fig, ax, items, fontsize: float = 7) -> list:
    """Annotate each (text, (x, y)) with a leader line, moving a label along a fan of offsets until
    its box overlaps no label placed before, no legend and stays in the axes. Returns the boxes (display
    coordinates) in the order of ``items``; deterministic (no randomness, fixed search order)."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    legend = ax.get_legend()
    blocked = [legend.get_window_extent(renderer)] if legend is not None else []
    offsets = [(dx, dy) for r in range(1, 25) for dx, dy in
               ((-8, 8 + 9 * r), (8, -8 - 9 * r), (-8 - 6 * r, -8 - 9 * r), (8 + 6 * r, 8 + 9 * r))]
    boxes = []
    for text, xy in items:
        for dx, dy in offsets:
            ann = ax.annotate(text, xy, textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                              ha="right" if dx < 0 else "left", va="bottom" if dy > 0 else "top",
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.6", "lw": 0.4,
                                    "alpha": 0.9},
                              arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.3"}, zorder=5)
            ann.update_positions(renderer)   # an annotation places its text only when drawn
            bb = Text.get_window_extent(ann, renderer)
            inside = (bb.x0 >= frame.x0 and bb.x1 <= frame.x1 and bb.y0 >= frame.y0 and bb.y1 <= frame.y1)
            if inside and not any(_bboxes_overlap(bb, o) for o in boxes + blocked):
                boxes.append(bb)
                break
            ann.remove()
        else:   # nowhere free: keep the first position (never silently drop a label)
            ann = ax.annotate(text, xy, textcoords="offset points", xytext=offsets[0], fontsize=fontsize,
                              ha="right", arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.3"})
            ann.update_positions(renderer)
            boxes.append(Text.get_window_extent(ann, renderer))
    return boxes


def _best_labels(chosen) -> list:
    """The best-per-objective designs, one entry per distinct design (labels of a shared point joined)."""
    groups: dict[int, list] = {}
    for c in chosen:
        if c.label.startswith("best"):
            groups.setdefault(c.index, []).append(c)
    return [(" + ".join(c.label for c in cs), cs[0]) for cs in groups.values()]


def pareto_plot(plt, path: Path, job, sweeper, state, chosen) -> dict:
    """Energy per token against decode tokens/s: the design points within the constraints (grey
    density), the feasible points that fail a constraint apart (orange, the constraints named),
    the Pareto front of the points within the constraints, and the best design per objective.
    Returns what it drew (labels and their boxes, the legend texts) for the tests."""
    from matplotlib.colors import ListedColormap, LogNorm
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(8, 5.5))
    (x0, x1), (y0, y1) = HIST_RANGE
    ex = 10 ** np.linspace(x0, x1, HIST_BINS + 1)
    ey = 10 ** np.linspace(y0, y1, HIST_BINS + 1)
    hist_all = state.hist_feasible.T.astype(float)
    hist_ok = state.hist_ok.T.astype(float)
    extra = []
    if hist_all.sum() > 0:
        bx, by = _crop(hist_all)
        rejected = np.ma.masked_equal((hist_all - hist_ok)[by[0]:by[1], bx[0]:bx[1]], 0)
        n_rejected = state.n_feasible - state.n_ok
        if n_rejected > 0:
            ax.pcolormesh(ex[bx[0]:bx[1] + 1], ey[by[0]:by[1] + 1], rejected,
                          cmap=ListedColormap(["#f4a261"]), alpha=0.35, shading="flat", rasterized=True)
            extra.append(Patch(facecolor="#f4a261", alpha=0.5,
                               label=f"feasible, outside the constraints ({n_rejected:,}):\n"
                                     f"{rejection_summary(job, state)}"))
        if hist_ok.sum() > 0:
            sub = np.ma.masked_equal(hist_ok[by[0]:by[1], bx[0]:bx[1]], 0)
            mesh = ax.pcolormesh(ex[bx[0]:bx[1] + 1], ey[by[0]:by[1] + 1], sub, cmap="Greys", alpha=0.45,
                                 norm=LogNorm(vmin=1, vmax=max(2.0, float(sub.max()))), shading="flat",
                                 rasterized=True)
            fig.colorbar(mesh, ax=ax, label="design points within the constraints, per bin")
    ids = sweeper.ranked_front(state)
    cols = sweeper.evaluate_indices(ids)
    tps, jpt, wb = cols["decode_tokens_per_s"], cols["energy_per_token_j"], cols["wbits"]
    colours = {2: "#d62728", 3: "#ff7f0e", 4: "#2ca02c", 8: "#1f77b4", 16: "#9467bd"}  # by weight bits
    for w in sorted(set(int(v) for v in wb)):
        sel = wb == w
        ax.scatter(tps[sel], jpt[sel], s=16, color=colours.get(w, "black"), label=f"Pareto front, W{w}",
                   edgecolors="black", linewidths=0.3, zorder=3)
    best = _best_labels(chosen)
    for _, c in best:
        ax.scatter([c.values["decode_tokens_per_s"]], [c.values["energy_per_token_j"]], marker="*", s=170,
                   facecolors="none", edgecolors="black", linewidths=1.0, zorder=4)
    _log_axes(ax)
    ax.set_xlabel("decode tokens/s")
    ax.set_ylabel("energy per token, J")
    ax.set_title(_title(job, sweeper, 100), fontsize=9)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + extra, fontsize=7, loc="upper right")
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.84)   # room for the wrapped title
    items = [(text, (c.values["decode_tokens_per_s"], c.values["energy_per_token_j"])) for text, c in best]
    boxes = place_labels(fig, ax, items)
    _save(fig, path)
    plt.close(fig)
    return {"labels": [t for t, _ in items], "boxes": [tuple(b.bounds) for b in boxes],
            "legend": [h.get_label() for h in handles + extra]}


def _distinct_designs(chosen, bw: float) -> list:
    """The best-per-objective designs as drawn: one entry per spot on the bytes-per-token plot
    (designs within 2% of each other in both axes share it), each listing its labels and the
    distinct design points under them. Returns (legend text, [ChosenDesign, ...]) per spot."""
    spots: list = []
    for _, c in _best_labels(chosen):
        x = bw / c.values["roofline_tokens_per_s"]
        y = c.values["decode_tokens_per_s"]
        for spot in spots:
            if abs(np.log(spot["x"] / x)) < 0.02 and abs(np.log(spot["y"] / y)) < 0.02:
                spot["members"].append(c)
                break
        else:
            spots.append({"x": x, "y": y, "members": [c]})
    out = []
    for spot in spots:
        lines = []
        for c in spot["members"]:
            q, h = c.design.quant, c.design.hw
            lines.append(f"{c.label}: {q.label()} {h.rows}x{h.cols} {h.weight_channels}ch "
                         f"{h.freq_mhz}MHz ({c.values['roofline_fraction']:.0%} of bound)")
        out.append(("\n".join(lines), spot["members"]))
    return out


def _decode_ops_per_token(pred: dict, batch: int) -> float:
    """Arithmetic operations (2 per MAC) of one decode step, per token: from the prediction's op list."""
    macs = sum(float(o.get("macs", 0.0)) * float(o.get("count", 1.0)) for o in pred.get("ops", ())
               if o.get("phase") == "decode")
    return 2.0 * macs / max(batch, 1)


def roofline_plot(plt, path: Path, job, sweeper, state, chosen) -> dict:
    """Two views of the decode roofline.

    Left: tokens/s against off-chip bytes per decoded token (the x axis is bytes per token, not
    arithmetic intensity): batch-1 decode reads every weight and the KV cache once per token, so no
    design beats tokens/s = bandwidth / bytes per token (the diagonal). Grey: the Pareto front.
    Right: the classic roofline, attainable operations/s against arithmetic intensity (operations
    per off-chip byte): the memory roof (bandwidth x intensity), each best design's compute roof
    (2 x rows x cols x clock) with its ridge point (where the two meet), and the design itself at
    its own intensity. The best design per objective is drawn; designs at the same spot share one
    marker and one legend entry (the ranked runners-up are in the table, not here). Returns what
    it drew.
    """
    bw = float(sweeper.device.mem_bw_gbs) * 1e9
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12.5, 7.0), gridspec_kw={"width_ratios": [1.15, 1]})
    ids = sweeper.ranked_front(state)
    cols = sweeper.evaluate_indices(ids)
    roof = np.asarray(cols["roofline_tokens_per_s"], dtype=float)
    bpt = bw / roof / 1e9
    tps = np.asarray(cols["decode_tokens_per_s"], dtype=float)
    spots = _distinct_designs(chosen, bw)
    xs_c = np.array([bw / m[0].values["roofline_tokens_per_s"] / 1e9 for _, m in spots], dtype=float)
    ys_c = np.array([m[0].values["decode_tokens_per_s"] for _, m in spots], dtype=float)
    allx = np.concatenate([bpt, xs_c])
    ally = np.concatenate([tps, ys_c])
    x_lo, x_hi = float(allx.min()) / 1.6, float(allx.max()) * 1.6
    line = np.geomspace(x_lo, x_hi, 50)
    ax.plot(line, bw / 1e9 / line, color="black", lw=1.3,
            label=f"bandwidth bound: {sweeper.device.mem_bw_gbs:g} GB/s / bytes per token")
    for f, ls in ((0.5, "--"), (0.2, ":")):
        ax.plot(line, f * bw / 1e9 / line, color="grey", lw=0.9, ls=ls, label=f"{f:.0%} of that bound")
    ax.scatter(bpt, tps, s=8, color="0.6", edgecolors="none", label="Pareto front", zorder=2)
    cmap = plt.get_cmap("tab10")
    legend_designs = []
    for i, (text, _) in enumerate(spots):
        legend_designs.append(text)
        ax.scatter([xs_c[i]], [ys_c[i]], s=46, color=cmap(i % 10), zorder=3, edgecolors="black", linewidths=0.4,
                   label=text)
    _log_axes(ax)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(float(ally.min()) / 2, float(bw / 1e9 / x_lo) * 1.3)
    ax.set_xlabel("off-chip GB read per decoded token (weights + KV cache); not arithmetic intensity")
    ax.set_ylabel("decode tokens/s")
    ax.set_title("bytes per token: tokens/s <= bandwidth / bytes per token", fontsize=9)
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)

    # the classic roofline of the distinct chosen designs
    batch = job.workload.batch
    ai_pts, perf_pts, ridges = [], [], []
    designs = [(i, c) for i, (_, members) in enumerate(spots) for c in members]
    for i, c in designs:
        pred = c.design.prediction
        ops_tok = _decode_ops_per_token(pred, batch)
        bytes_tok = float(pred.get("decode_bytes_per_step", 0.0)) / max(batch, 1)
        if ops_tok <= 0 or bytes_tok <= 0:
            continue
        h = c.design.hw
        peak = 2.0 * h.rows * h.cols * h.freq_mhz * 1e6
        ai = ops_tok / bytes_tok
        perf = ops_tok * c.values["decode_tokens_per_s"]
        ridge = peak / bw
        ai_pts.append(ai)
        perf_pts.append(perf)
        ridges.append((ridge, peak, i))
    if ai_pts:
        lo = min(min(ai_pts), min(r for r, _, _ in ridges)) / 4
        hi = max(max(ai_pts), max(r for r, _, _ in ridges)) * 4
        xi = np.geomspace(lo, hi, 60)
        ax2.plot(xi, bw * xi / 1e9, color="black", lw=1.3, label=f"memory roof: {sweeper.device.mem_bw_gbs:g} GB/s")
        for ridge, peak, i in ridges:
            seg = xi[xi >= ridge]
            ax2.plot(np.concatenate([[ridge], seg]), np.full(len(seg) + 1, peak / 1e9), color=cmap(i % 10), lw=1.0,
                     ls="--")
            ax2.scatter([ridge], [peak / 1e9], marker="D", s=22, facecolors="none", edgecolors=cmap(i % 10), zorder=3)
        for k, (ridge, peak, i) in enumerate(ridges):
            ax2.scatter([ai_pts[k]], [perf_pts[k] / 1e9], s=46, color=cmap(i % 10), edgecolors="black",
                        linewidths=0.4, zorder=4)
        ax2.plot([], [], color="0.3", ls="--", lw=1.0, label="compute roof: 2 x rows x cols x clock (per design)")
        ax2.scatter([], [], marker="D", s=22, facecolors="none", edgecolors="0.3",
                    label="ridge point: compute roof / bandwidth")
        ax2.scatter([], [], s=46, color="0.5", edgecolors="black", linewidths=0.4,
                    label="design at its decode arithmetic intensity")
        _log_axes(ax2)
        ax2.set_xlim(lo, hi)
        ax2.set_xlabel("arithmetic intensity, operations per off-chip byte (decode)")
        ax2.set_ylabel("GOP/s (2 per multiply-accumulate)")
        ax2.set_title("roofline: each design's ridge and intensity (colours as left)", fontsize=9)
        ax2.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    else:
        ax2.axis("off")
        ax2.text(0.5, 0.5, "no per-op counts in the predictions", ha="center", va="center")
    fig.suptitle(_title(job, sweeper, 150), fontsize=9)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.3, top=0.89, wspace=0.22)
    _save(fig, path)
    plt.close(fig)
    return {"designs": legend_designs, "ridges": [r for r, _, _ in ridges], "intensities": ai_pts}


RESOURCES = ("dsp", "lut", "ff", "bram36", "uram")


def energy_parts(pred: dict, device, batch: int) -> dict[str, float]:
    """Decode energy per token split the way the model builds board power (codesign/model/power.py):
    static (the device's idle power) + off-chip memory (the model's ``memory_power_w`` for the bytes a
    decode step moves) + logic (the rest: dynamic power of the used DSP/LUT/FF/BRAM/URAM)."""
    from ..model.power import memory_power_w

    tps = float(pred["decode_tokens_per_s"])
    total = float(pred["energy_per_token_j"])
    if tps <= 0 or "decode_bytes_per_step" not in pred:
        return {}
    step_s = batch / tps
    memory = float(memory_power_w(device, float(pred["decode_bytes_per_step"]) / step_s)) / tps
    static = float(device.static_w) / tps
    return {"static (idle board)": static, "off-chip memory": memory,
            "logic (dynamic)": max(total - static - memory, 0.0)}


def breakdown_plot(plt, path: Path, job, sweeper, chosen, summary) -> None:
    primary = next(c for c in chosen if c.index == summary["best_design"]["index"])
    pred = primary.design.prediction
    dev = sweeper.device
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.5))
    used = pred.get("resources") or {r: primary.values.get(r) for r in RESOURCES}
    names, fracs = [], []
    for r in RESOURCES:
        total = getattr(dev, r, None)
        if total and used.get(r) is not None:
            names.append(r)
            fracs.append(100.0 * float(used[r]) / float(total))
    bars = ax1.barh(names[::-1], fracs[::-1], color="#4c72b0")
    for b, f in zip(bars, fracs[::-1]):
        ax1.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {f:.1f}%", va="center", fontsize=8)
    ax1.set_xlabel(f"% of the {dev.name} device")
    ax1.set_xlim(0, max(100.0, max(fracs, default=0) * 1.15))
    ax1.set_title("resources (best J/token design)", fontsize=9)
    parts = energy_parts(pred, dev, job.workload.batch)
    if parts:
        keys = list(parts)
        vals = [parts[k] for k in keys]
        bars = ax2.bar(keys, vals, color=["#8c8c8c", "#dd8452", "#55a868"])
        for b, v in zip(bars, vals):
            ax2.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{v:.3g} J", ha="center", va="bottom",
                     fontsize=8)
        ax2.set_ylim(0, max(vals) * 1.35)
        floor = pred.get("min_memory_energy_per_token_j")
        if floor:
            ax2.axhline(float(floor), color="black", lw=0.9, ls="--",
                        label=f"memory-energy floor {float(floor):.3g} J (weights + KV at the device's pJ/bit)")
            ax2.legend(fontsize=7, loc="upper right")
        ax2.set_ylabel("J per decoded token")
        ax2.tick_params(axis="x", labelsize=8)
        ax2.set_title(f"decode energy per token: {primary.values['energy_per_token_j']:.4g} J", fontsize=9)
    else:
        ax2.axis("off")
        ax2.text(0.5, 0.5, "no energy breakdown in the prediction", ha="center", va="center")
    q, h = primary.design.quant, primary.design.hw
    fig.suptitle(f"{job.model} on {job.device}: {q.label()}, "
                 f"{h.rows}x{h.cols} MPE, {h.weight_channels} weight ch, {h.freq_mhz} MHz", fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.22, top=0.86, wspace=0.3)
    _save(fig, path)
    plt.close(fig)
