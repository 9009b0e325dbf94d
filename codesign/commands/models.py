"""codesign models: the built-in model presets with their sources and parameter counts."""

from __future__ import annotations

NAME = "models"
HELP = "list the built-in model presets (dims, total/active parameters, source)"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print the presets as JSON")


def run(args) -> int:
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from ..fsutil import dumps_json
    from ..workload import PRESETS, param_counts

    if args.json:
        print(dumps_json({n: {**asdict(c), "params": param_counts(c)} for n, c in PRESETS.items()}), end="")
        return 0
    con = Console(width=max(140, Console().width))
    t = Table(title="model presets (any Hugging Face config.json path works too)")
    for c in ("name", "layers", "d_model", "heads/kv", "d_ffn", "experts", "vocab", "params", "active", "source"):
        t.add_column(c, justify="left" if c in ("name", "source") else "right")
    for n, c in PRESETS.items():
        pc = param_counts(c)
        t.add_row(n, str(c.n_layers), str(c.d_model), f"{c.n_heads}/{c.n_kv_heads}", str(c.d_ffn),
                  f"{c.top_k}/{c.n_experts}" if c.is_moe else "-", f"{c.vocab:,}", f"{pc['total'] / 1e9:.3f}B",
                  f"{pc['active'] / 1e9:.3f}B", c.source)
    con.print(t)
    return 0
