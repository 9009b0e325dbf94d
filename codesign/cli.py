"""The ``codesign`` command line.

Each sub-command lives in ``codesign/commands/<name>.py`` and exposes
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Every user-facing failure is a ``CodesignError``: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands
from .errors import CodesignError

# Pipeline order for --help; commands found on disk but not listed come after.
ORDER = ["sweep", "evaluate", "validate", "accuracy", "compile", "vectors", "compare", "gpu-bench",
         "emit-hls", "csim", "emit-rtl", "verify", "synth", "export", "devices", "models"]


def _command_modules():
    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            mods.append(mod)
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(mods, key=lambda m: (rank.get(m.NAME, len(ORDER)), m.NAME))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Hardware/software co-design explorer for LLM inference on FPGAs.",
    )
    parser.add_argument("--version", action="version", version=f"codesign {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser




def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except CodesignError as e:
        print(f"codesign {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"codesign {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
