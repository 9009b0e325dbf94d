"""``codesign compare``: an FPGA design against GPUs on speed, energy and cost."""

from __future__ import annotations

from pathlib import Path

from ..errors import CodesignError

NAME = "compare"
HELP = "compare an FPGA design with GPUs (tokens/s, J/token, tokens/J, USD/Mtoken)"
DESCRIPTION = ("Evaluates the design's FPGA prediction and each GPU for the same model and workload: a measured "
               "gpu-bench record when one is committed, else the analytical GPU model (marked). Prints a table, "
               "writes compare.json and compare.png into --out.")


def add_arguments(p) -> None:
    from ..baselines.gpu_model import GPU_DTYPES
    from ..baselines.stacks import STACKS

    p.add_argument("--design", required=True, help="design.json (e.g. runs/default/best.json)")
    p.add_argument("--gpu", default="v100s,a100,h100", help="GPUs to compare against, separated by commas (`codesign devices` lists them)")
    p.add_argument("--gpu-dtype", default="fp16", choices=GPU_DTYPES, help="GPU weight precision")
    p.add_argument("--stack", default="serving", choices=STACKS,
                   help="GPU software stack class for modelled GPUs")
    p.add_argument("--out", default=None, help="output folder (default: <design folder>/compare)")
    p.add_argument("--force", action="store_true", help="replace an output folder this tool wrote")
    p.add_argument("--json", action="store_true", help="print the JSON instead of the table")


def _check_gpus(gpus: list[str]) -> None:
    """Each --gpu name is a GPU of the database (or a GPU device file); the error lists the GPUs only."""
    from ..devices import get_device, list_devices
    from ..devices.database import ALIASES

    names = sorted(d.name for d in list_devices() if d.kind == "gpu")
    aliases = sorted(a for a, n in ALIASES.items() if n in names)
    for g in gpus:
        try:
            dev = get_device(g)
        except CodesignError as e:
            if g.lower().endswith((".yaml", ".yml", ".json")):
                raise CodesignError(str(e).split(": ", 1)[-1], field="--gpu") from None
            raise CodesignError(f"unknown GPU {g!r}; GPUs: {', '.join(names)} (also {', '.join(aliases)}) "
                                "or a GPU device file", field="--gpu") from None
        if dev.kind != "gpu":
            raise CodesignError(f"'{g}' is an FPGA, not a GPU; GPUs: {', '.join(names)}", field="--gpu")


def run(args) -> int:
    from rich.console import Console

    from ..baselines.compare import compare
    from ..baselines.compare_report import bar_chart, table
    from ..design import load_design
    from ..fsutil import atomic_output_dir, dumps_json

    design = load_design(args.design)
    gpus = [g.strip() for g in args.gpu.split(",") if g.strip()]
    if not gpus:
        raise CodesignError("name at least one GPU, e.g. v100s,a100,h100", field="--gpu")
    _check_gpus(gpus)
    result = compare(design, gpus, args.gpu_dtype, args.stack)
    out = Path(args.out) if args.out else Path(args.design).resolve().parent / "compare"
    with atomic_output_dir(out, args.force) as tmp:
        (tmp / "compare.json").write_text(dumps_json(result))
        bar_chart(result, tmp / "compare.png")
    if args.json:
        print(dumps_json(result), end="")
    else:
        con = Console()
        con.print(table(result))
        for g in result["gpus"]:       # plain print: one unwrapped line per statement
            print(f"  FPGA {result['fpga']['device']}: {g['ratios']['statement']}")
        print(f"wrote {out / 'compare.json'} and {out / 'compare.png'}")
    return 0
