"""Presenting a comparison (``compare.compare``): a rich table (the ratio statements are printed
beneath it by the command) and a bar-chart PNG."""

from __future__ import annotations

from pathlib import Path

from .compare import METRICS


def table(result: dict):
    from rich.table import Table

    t = Table(title=f"{result['model']}: FPGA design vs GPUs (batch {result['workload']['batch']})")
    t.add_column("platform", no_wrap=True)
    t.add_column("figure")
    for _, label, _, _ in METRICS:
        t.add_column(label, justify="right")
    f = result["fpga"]
    q = result["quant"]
    t.add_row(f"{f['device']} (FPGA)", f"{f['source']} W{q['wbits']}A{q['abits']}KV{q['kvbits']}",
              *(_fmt(f[k]) for k, *_ in METRICS))
    for g in result["gpus"]:
        t.add_row(g["gpu"], f"{g['source']} {g['dtype']} {g['stack']}", *(_fmt(g[k]) for k, *_ in METRICS))
    return t


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def bar_chart(result: dict, path: str | Path) -> None:
    """Four panels (one per metric), a bar per platform; modelled GPU bars hatched. Deterministic
    PNG: fixed size and DPI, Agg backend, no timestamp metadata."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{result['fpga']['device']}\n(FPGA)"] + [f"{g['gpu']}\n({g['source']})" for g in result["gpus"]]
    entries = [result["fpga"]] + result["gpus"]
    colors = ["#2a9d8f"] + ["#e76f51" if g["source"] == "measured" else "#f4a261" for g in result["gpus"]]
    hatches = [""] + ["" if g["source"] == "measured" else "//" for g in result["gpus"]]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.0 * len(METRICS), 4.2), dpi=100)
    for ax, (key, label, unit, higher) in zip(axes, METRICS):
        vals = [e[key] for e in entries]
        bars = ax.bar(range(len(vals)), vals, color=colors, edgecolor="black", linewidth=0.6)
        for b, h in zip(bars, hatches):
            b.set_hatch(h)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.3g}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(names, fontsize=7)
        ax.set_title(f"{label} ({'higher' if higher else 'lower'} is better)", fontsize=9)
        ax.set_ylabel(unit)
        ax.margins(y=0.15)
    fig.suptitle(f"{result['model']}: FPGA design vs GPUs (hatched: modelled GPU)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
