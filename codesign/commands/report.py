"""``codesign report``: one interactive report.html over one or several finished sweeps."""

from __future__ import annotations

NAME = "report"
HELP = "interactive report.html (Pareto front, roofline, best design, GPU comparison, verification) over sweeps"
DESCRIPTION = (HELP + ". Every sweep already writes DIR/report.html; this rebuilds it, adds the GPU comparison "
               "(DIR/compare/compare.json from `codesign compare --design DIR/best.json`, or --compare) and the "
               "verification of the best design (--csim / --verify: the --json outputs of `codesign csim` and "
               "`codesign verify`), or puts several sweeps (models, boards) on one page. The page is one file: "
               "plotly.js is inlined, nothing is fetched when it is viewed.")


def add_arguments(p) -> None:
    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help="sweep output folders (a multi-pair sweep's folder stands for its subfolders)")
    p.add_argument("--out", default=None,
                   help="the HTML file to write (default: DIR/report.html for one sweep folder; required for several)")
    p.add_argument("--compare", default=None, help="compare.json of `codesign compare`, one DIR only "
                                                   "(default: DIR/compare/compare.json when it exists)")
    p.add_argument("--csim", default=None, help="`codesign csim DIR --json` output of the best design (one DIR only)")
    p.add_argument("--verify", default=None, help="`codesign verify --json` output of the best design (one DIR only)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file that codesign did not write")


def _written_by_us(path) -> bool:
    from ..search.report_html import GENERATOR
    try:
        with open(path, "rb") as f:
            return f'<meta name="generator" content="{GENERATOR}">'.encode() in f.read(4096)
    except OSError:
        return False


def run(args) -> int:
    from pathlib import Path

    from ..errors import CodesignError
    from ..search.report_html import sweep_folders, write_report

    dirs = [Path(d) for d in args.dirs]
    for d in dirs:
        if not d.is_dir():
            raise CodesignError(f"'{d}' is not a folder", field="DIR")
    folders = sweep_folders(dirs)
    if args.out:
        out = Path(args.out)
    elif len(dirs) == 1:
        out = dirs[0] / "report.html"
    else:
        raise CodesignError("required with several DIRs (the HTML file to write)", field="--out")
    if out.is_dir():
        raise CodesignError(f"'{out}' is a folder; give the HTML file to write", field="--out")
    if out.exists() and not args.force and not _written_by_us(out):
        raise CodesignError(f"'{out}' already exists and is not a codesign report; pass --force to overwrite it",
                            field="--out")
    if not out.parent.is_dir():
        raise CodesignError(f"'{out.parent}' is not a folder", field="--out")
    opt = {k: (Path(getattr(args, k)) if getattr(args, k) else None) for k in ("compare", "csim", "verify")}
    data = write_report(out, folders, **opt)
    print(f"wrote {out} ({len(folders)} sweep(s), {data['plotted']} Pareto points)")
    return 0
