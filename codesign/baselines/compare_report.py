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


# Axis units of the chart: spelled out where the table's short unit would mislead ("USD" alone
# reads as a price, the figure is USD per million generated tokens).
CHART_UNITS = {"usd_per_mtoken": "USD / M tokens", "energy_per_token_j": "J / token"}


def bar_labels(result: dict) -> list[str]:
    """One x label per bar: platform, kind, where the figure comes from, and the precision it runs at."""
    q = result["quant"]
    f = result["fpga"]
    fpga = f"W{q['wbits']}A{q['abits']}KV{q['kvbits']}" + (" zp" if q.get("zero_point") else "")
    return ([f"{f['device']}\nFPGA, {f['source']}\n{fpga} g{q['group']}"]
            + [f"{g['gpu']}\nGPU, {g['source']}\n{g['dtype']} {g['stack']}" for g in result["gpus"]])


def bar_chart(result: dict, path: str | Path) -> dict:
    """Four panels (one per metric), a bar per platform. Every modelled figure, the FPGA's included,
    is hatched and says "modelled" under its bar with its precision; measured ones are solid.
    Deterministic PNG: fixed size and DPI, Agg backend, no timestamp metadata. Returns what it drew
    (labels, units, hatches) for the tests."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    names = bar_labels(result)
    entries = [result["fpga"]] + result["gpus"]
    colors = ["#2a9d8f"] + ["#e76f51" for _ in result["gpus"]]
    hatches = ["" if e["source"] == "measured" else "//" for e in entries]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.0 * len(METRICS), 4.6), dpi=100)
    units = []
    for ax, (key, label, unit, higher) in zip(axes, METRICS):
        vals = [e[key] for e in entries]
        bars = ax.bar(range(len(vals)), vals, color=colors, edgecolor="black", linewidth=0.6)
        for b, h in zip(bars, hatches):
            b.set_hatch(h)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.3g}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(names, fontsize=6.5)
        ax.set_title(f"{label} ({'higher' if higher else 'lower'} is better)", fontsize=9)
        units.append(CHART_UNITS.get(key, unit))
        ax.set_ylabel(units[-1])
        ax.margins(y=0.15)
    handles = [Patch(facecolor="white", edgecolor="black", hatch="//", label="modelled (analytical model)"),
               Patch(facecolor="white", edgecolor="black", label="measured (gpu-bench record)")]
    fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=2, frameon=False)
    fig.suptitle(f"{result['model']}: FPGA design vs GPUs, batch {result['workload']['batch']}", fontsize=10,
                 x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
    return {"labels": names, "units": units, "hatches": hatches}
