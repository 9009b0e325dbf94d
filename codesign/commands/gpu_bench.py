"""``codesign gpu-bench``: measure batch-1 decode and prefill speed and energy on the local GPU."""

from __future__ import annotations

import shlex
import sys

from ..errors import CodesignError
from ..fsutil import atomic_write_json, dumps_json

NAME = "gpu-bench"
HELP = "measure tokens/s and J/token of a LLaMA-style decoder on the local CUDA GPU"
DESCRIPTION = ("Builds a decoder stack with a preset's dimensions (random weights, or real ones with --weights) in torch and times batch-1 "
               "prefill and decode (KV cache, CUDA graph or eager), metering energy with NVML's total-energy "
               "counter (fallback: power sampling). Writes a JSON record; with no CUDA GPU it exits non-zero.")


def add_arguments(p) -> None:
    from ..baselines.bench import MODES
    from ..baselines.bench_model import BENCH_DTYPES

    p.add_argument("--model", default="llama2-7b", help="model preset or HF config.json (dense models)")
    p.add_argument("--dtype", default="fp16", choices=BENCH_DTYPES, help="weight precision")
    p.add_argument("--tokens", type=int, default=256,
                   help="decoded tokens per pass (a timed window repeats passes for >= 1 s)")
    p.add_argument("--prompt", type=int, default=512, help="prompt tokens (prefill window; decode starts after it)")
    p.add_argument("--warmup", type=int, default=32, help="untimed decode steps before measuring")
    p.add_argument("--repeats", type=int, default=5, help="timed windows per phase (median reported)")
    p.add_argument("--mode", default="graph", choices=MODES,
                   help="graph: one CUDA graph per decode step (serving-class); eager: plain torch calls")
    p.add_argument("--weights", default=None,
                   help="real weights: a .gguf file or HF safetensors folder matching --model (default: random weights)")
    p.add_argument("--out", default=None, help="write the JSON record to this file (default: print it)")


def _check(args) -> None:
    for f, lo in (("tokens", 1), ("prompt", 1), ("warmup", 0), ("repeats", 1)):
        v = getattr(args, f)
        if v < lo:
            raise CodesignError(f"got {v}; allowed: an integer >= {lo}", field=f"--{f}")


def run(args) -> int:
    _check(args)
    from ..baselines.bench import run_bench

    command = "codesign " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "codesign gpu-bench"
    rec = run_bench(args.model, args.dtype, args.tokens, args.prompt, args.warmup, args.repeats, args.mode, command,
                    weights_path=args.weights)
    if args.out:
        atomic_write_json(args.out, rec, field="--out")
    else:
        sys.stdout.write(dumps_json(rec))
    d, p = rec["decode"]["median"], rec["prefill"]["median"]
    j = f"{d['j_per_token']:.3f} J/token" if d["j_per_token"] is not None else "no energy meter"
    print(f"{rec['gpu']['name']}: decode {d['tokens_per_s']:.1f} tokens/s, {j}, weights streamed at "
          f"{rec['decode']['weight_stream_gbs']:.0f} GB/s; prefill {p['tokens_per_s']:.0f} tokens/s "
          f"({rec['gpu']['energy_method']})", file=sys.stderr)
    if not rec["stable"]:
        print(f"warning: the {args.repeats} repeats vary by more than 5% (see decode.*.cv in the record); "
              "raise --tokens/--repeats or quiet the machine", file=sys.stderr)
    _print_prediction(rec)
    return 0


def _print_prediction(rec: dict) -> None:
    """The analytical model's figures for the same GPU, model, precision and run, beside the measurement."""
    if rec["gpu"].get("device") is None:
        print(f"(no database entry for '{rec['gpu']['name']}': no model prediction shown)", file=sys.stderr)
        return
    from ..baselines.gpu_validation import measured_points, rows

    for r in rows(measured_points([{**rec, "_file": "this run"}])):
        print(f"  {r['metric']}: measured {r['published']:.4g}, model ({r['device']}, serving) "
              f"{r['predicted']:.4g} ({r['error_pct']:+.1f}%)", file=sys.stderr)
