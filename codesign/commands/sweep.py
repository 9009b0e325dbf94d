"""codesign sweep: search quantization x tile sizes x clock x channels; Pareto front, plots.

Imports stay inside ``run`` (and numpy-only on the hot path): ``codesign sweep``
must start fast, and nothing here may pull in torch.
"""

from __future__ import annotations

NAME = "sweep"
HELP = "search bit-widths x tile sizes x clock x channels for a model on a device; Pareto front, plots"
DESCRIPTION = (HELP + ". With no arguments: LLaMA-2-7B on the Alveo U280, batch 1, 512-token prompt, "
               "512 generated tokens, the device's default space.")

# "Acceptable accuracy" when neither the space file nor the command line says: "anchor", no worse
# than the published design the tool must beat (FlightLLM's own W4A8KV8 g128 configuration), measured
# in the same accuracy table (search.anchors.anchor_accuracy_bound); when the table has no row of
# it, perplexity at most 5% above the reference. A policy choice, not a measured figure; applied only
# when an accuracy table exists (otherwise reported as not applied). --max-accuracy-loss-pct inf lifts it.
DEFAULT_ACCURACY_BOUND = "anchor"
FALLBACK_MAX_ACCURACY_LOSS_PCT = 5.0
DEFAULT_MODEL = "llama2-7b"
DEFAULT_DEVICE = "u280"


def add_arguments(p) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="model preset or HF config.json path; several separated by commas")
    p.add_argument("--device", default=DEFAULT_DEVICE,
                   help="device name or device file; several separated by commas (every model x device pair)")
    p.add_argument("--space", help="YAML space file: values or ranges per parameter, constraints (codesign/search/README.md)")
    p.add_argument("--batch", type=int, default=1, help="batch size")
    p.add_argument("--prompt", type=int, default=512, help="prompt (prefill) tokens")
    p.add_argument("--generate", type=int, default=512, help="generated (decode) tokens")
    p.add_argument("--context", type=int, default=None,
                   help="decode context length (default: prompt + generate/2)")
    p.add_argument("--max-accuracy-loss-pct", type=str, default=None,
                   help="constraint: max perplexity increase vs the accuracy table's reference, %%, or 'anchor' "
                        "(no worse than FlightLLM U280's own quantization configuration in the same table); "
                        "overrides the space file; inf = no bound (default: anchor, a policy; "
                        f"{FALLBACK_MAX_ACCURACY_LOSS_PCT:g} when the table has no row of the anchor's configuration)")
    p.add_argument("--min-tokens-per-s", type=float, default=None, help="constraint: min decode tokens/s")
    p.add_argument("--max-power-w", type=float, default=None, help="constraint: max power, W")
    p.add_argument("--resource-cap", type=float, default=None,
                   help="constraint: max fraction of any device resource, in (0, 1]")
    p.add_argument("--out", default=None, help="output folder (default: runs/sweep-<model>-<device>)")
    p.add_argument("--force", action="store_true", help="replace an output folder this tool wrote, and start over")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted sweep from <out>.partial (same inputs required)")
    p.add_argument("--points", choices=("auto", "all", "feasible", "none"), default="auto",
                   help="rows of points.csv: every point, feasible within constraints, or none; "
                        "auto = all up to 1,000,000 points, none above")
    p.add_argument("--chunk", type=int, default=None, help="points evaluated per chunk, bounds memory (default: 65536)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: the CPUs available, at most 8); 1 = no workers")
    p.add_argument("--cards", default=None,
                   help="card counts to compare, each over every power-of-two tensor x pipeline split "
                        "(e.g. 1,2,4,8); auto = one card when the model fits one at 8-bit weights and KV, "
                        "else 1,2,4,8 (default: auto); cards are linked by the board's direct link")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="points_format",
                   help="points file: points.csv, or points.parquet (typed columns, pyarrow)")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="where chunks run: local worker processes, or Dask workers (same output bytes)")
    p.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="with --engine dask: the Dask scheduler's address, e.g. tcp://host:8786 (default: a local "
                        "cluster of --jobs worker processes, started for this sweep)")
    p.add_argument("--top", type=int, default=10, help="rows in the top-designs table")
    p.add_argument("--quiet", action="store_true", help="no progress bar or tables")


def _accuracy_bound(text):
    """--max-accuracy-loss-pct: None (not given), "anchor", or a number (inf: no bound)."""
    from ..errors import CodesignError
    if text is None:
        return None
    if text.strip().lower() == DEFAULT_ACCURACY_BOUND:
        return DEFAULT_ACCURACY_BOUND
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if v != v or v < 0:
        raise CodesignError(f"got {text!r}; allowed: a number >= 0 (percent), inf, or anchor",
                            field="--max-accuracy-loss-pct")
    return v


def _split(value: str, field: str) -> list[str]:
    from ..errors import CodesignError

    items = [v.strip() for v in value.split(",")]
    if not value.strip() or any(not v for v in items):
        raise CodesignError(f"got {value!r}; expected one name or several separated by commas", field=field)
    out: list[str] = []
    for v in items:
        if v not in out:
            out.append(v)
    return out


def _safe(name: str) -> str:
    from pathlib import Path

    base = Path(name).stem if ("/" in name or name.endswith((".json", ".yaml", ".yml"))) else name
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in base)


def _fpga(name: str):
    """The device of --device; an unknown name lists what the sweep accepts: the FPGAs."""
    from ..devices import get_device, list_devices
    from ..errors import CodesignError

    try:
        return get_device(name)
    except CodesignError as e:
        if name.lower().endswith((".yaml", ".yml", ".json")):
            raise
        fpgas = sorted(d.name for d in list_devices() if d.kind == "fpga")
        raise CodesignError(f"unknown FPGA {name!r}; FPGAs: {', '.join(fpgas)} or an FPGA device file",
                            field="--device") from e


def run(args) -> int:
    import contextlib
    from dataclasses import replace
    from pathlib import Path

    from ..design import Workload
    from ..errors import CodesignError
    from ..fsutil import atomic_output_dir, check_output_dir, remove_dir
    from ..search import outputs as out_mod
    from ..search import report
    from ..search.checkpoint import partial_dir_for
    from ..search.constraints import Constraints
    from ..search.defaults import default_space
    from ..search.runner import DEFAULT_CHUNK, SweepJob, WorkerDied, default_workers, run_job
    from ..search.spacefile import SpaceFile, load_space_file
    from ._flags import check_context

    models = _split(args.model, "--model")
    devices = _split(args.device, "--device")
    workload = Workload(batch=args.batch, prompt=args.prompt, generate=args.generate,
                        context=args.context)
    try:
        workload.validate()
    except CodesignError as e:
        raise CodesignError(str(e).split(": ", 1)[-1], field=f"--{e.field}") from None
    sf = load_space_file(args.space) if args.space else SpaceFile()
    constraints: Constraints = sf.constraints.merged(
        min_tokens_per_s=args.min_tokens_per_s, max_power_w=args.max_power_w, resource_cap=args.resource_cap)
    acc_bound = _accuracy_bound(args.max_accuracy_loss_pct)
    if acc_bound is None:
        acc_bound = sf.constraints.max_accuracy_loss_pct
        if acc_bound is None:
            acc_bound = DEFAULT_ACCURACY_BOUND
    note = None
    if acc_bound == DEFAULT_ACCURACY_BOUND:
        from ..search.accuracy import load_accuracy
        from ..search.anchors import anchor_accuracy_bound
        found = anchor_accuracy_bound(load_accuracy(models[0]))
        acc_bound, note = found if found else (FALLBACK_MAX_ACCURACY_LOSS_PCT, (
            "the anchor's configuration is not in the accuracy table: the fallback bound"))
    if acc_bound == float("inf"):
        constraints = replace(constraints, max_accuracy_loss_pct=None)
    else:
        constraints = replace(constraints.merged(max_accuracy_loss_pct=acc_bound), accuracy_bound_note=note)
    if args.top < 1:
        raise CodesignError(f"got {args.top}; must be >= 1", field="--top")
    workers = default_workers() if args.jobs is None else args.jobs
    if workers < 1:
        raise CodesignError(f"got {workers}; must be >= 1", field="--jobs")
    if args.scheduler and args.engine != "dask":
        raise CodesignError(f"got {args.scheduler!r} with --engine {args.engine}; a scheduler needs --engine dask",
                            field="--scheduler")
    chunk = DEFAULT_CHUNK if args.chunk is None else args.chunk
    if chunk < 1:
        raise CodesignError(f"got {chunk}; must be >= 1", field="--chunk")

    from ..search import cards as cards_mod
    jobs = []
    for m in models:
        from ..workload import load_model_config
        cfg = load_model_config(m)  # a bad model name fails here, before anything is written
        for d in devices:
            dev = _fpga(d)
            if getattr(dev, "kind", "fpga") != "fpga":
                raise CodesignError(f"'{d}' is a GPU: the sweep searches the FPGA processor's template; "
                                    "compare GPUs with `codesign compare`", field="--device")
            space = default_space(dev, sf.overrides)
            check_context(workload, cfg, dev, min(space.as_dict()["kvbits"]))
            counts = cards_mod.parse_cards(args.cards, cfg, dev, workload)
            if counts != (1,):
                from ..devices import default_link
                try:
                    default_link(dev)     # a board with no inter-card link: one-line error before any work
                except CodesignError as e:
                    raise CodesignError(str(e).split(": ", 1)[-1], field="--cards") from None
            for n in counts:
                for par in cards_mod.plans(n):
                    jobs.append(SweepJob(m, d, workload, space, constraints, chunk, args.points,
                                         args.points_format, parallel=par))
    multi = len(jobs) > 1
    by_cards = any(j.parallel.devices > 1 for j in jobs)
    if args.out:
        out = Path(args.out)
    elif multi:
        out = Path("runs") / "sweep-compare"
    else:
        out = Path("runs") / f"sweep-{_safe(models[0])}-{_safe(devices[0])}"
    check_output_dir(out, force=args.force)   # before any work: writable, and replaceable if it exists
    work = partial_dir_for(out)
    if work.exists() and not args.resume:
        if not args.force:
            raise CodesignError(f"an interrupted sweep is in '{work}'; pass --resume to continue it "
                                "or --force to start over", field="--out")
        remove_dir(work)

    ui = report.SweepUI(quiet=args.quiet)
    if args.resume and not work.exists():
        ui.note(f"nothing to resume in '{work}'; starting the sweep")
    results, cards_tables = [], []
    engine = contextlib.nullcontext(None)
    if args.engine == "dask":
        from ..search.dask_engine import DaskEngine
        engine = DaskEngine(args.scheduler, workers)
    try:
        with engine as chunk_engine, ui.progress(sum(j.space.size for j in jobs)) as advance:
            base = 0
            for job in jobs:
                sub = work / _sub(job) if multi else work
                label = f"{job.model} on {job.device}" + (f" ({cards_mod.label(job.parallel)})" if by_cards else "")
                _, state, ckpt = run_job(job, sub, resume=args.resume,
                                         progress=advance(base, label), workers=workers, engine=chunk_engine)
                results.append((job, _, state, ckpt))
                base += job.space.size
        # a plan with no design meeting the constraints is a row of the cards table, not an error,
        # as long as another plan of the same model and device has one
        for job, sweeper, state, ckpt in results:
            if not by_cards or not any(s.n_ok for j, _, s, _ in results
                                       if (j.model, j.device) == (job.model, job.device)):
                out_mod.require_some_point(job, sweeper, state)

        written, cards_out = [], []
        with atomic_output_dir(out, force=args.force) as stage:
            for job, sweeper, state, ckpt in results:
                dest = stage / _sub(job) if multi else stage
                res = out_mod.write_results(dest, job, sweeper, state, ckpt) if state.n_ok else None
                if res is not None:
                    written.append((job, sweeper, state, res))
                cards_out.append((job, sweeper, state, res))
            if multi:
                report.write_comparison(stage, written)
                from ..search.report_html import write_report   # every pair on one page
                write_report(stage / "report.html", [stage / _sub(j) for j, *_ in written])
            if by_cards:
                for m in models:
                    for d in devices:
                        mine = [r for r in cards_out if (r[0].model, r[0].device) == (m, d)]
                        rows = cards_mod.cards_rows(mine)
                        name = "cards.json" if len(models) * len(devices) == 1 else f"cards-{_safe(m)}-{_safe(d)}.json"
                        v = cards_mod.write_cards(stage / name, m, d, rows)
                        cards_tables.append((m, d, rows, v))
    except WorkerDied as e:
        e.args = (f"{e}; the sweep state is in '{work}'",)
        raise
    except CodesignError:
        remove_dir(work)  # nothing is partly written
        raise
    except KeyboardInterrupt as e:   # Ctrl-C or SIGTERM (the CLI turns SIGTERM into this)
        if work.exists():
            e.add_note(f"the sweep state is in '{work}': rerun with --resume to continue")
        raise
    remove_dir(work)

    for job, sweeper, state, res in written:
        ui.show_result(job, sweeper, state, res, top=args.top, where=out / _sub(job) if multi else out)
    if multi:
        ui.show_comparison(written, out)
    if not args.quiet:
        for m, d, rows, v in cards_tables:
            cards_mod.show_cards(ui.console, m, d, rows, v)
    return 0


def _sub(job) -> str:
    """A job's output subfolder: model-device, and the plan when it spans several cards."""
    par = job.parallel
    return f"{_safe(job.model)}-{_safe(job.device)}" + (f"-tp{par.tp}pp{par.pp}" if par.devices > 1 else "")
