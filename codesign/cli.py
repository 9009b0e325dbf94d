"""The ``codesign`` command line.

Each sub-command lives in ``codesign/commands/<name>.py`` and exposes
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Every user-facing failure is a ``CodesignError``: one line on stderr, exit 2.
"""

from __future__ import annotations

# Only what a signal handler needs is imported up front: an interrupt during start-up should
# meet main()'s handler, not a traceback from the middle of an import.
import signal
import sys

from . import __version__, commands

# Pipeline order for --help; commands found on disk but not listed come after.
ORDER = ["sweep", "report", "evaluate", "validate", "accuracy", "compile", "vectors", "compare", "anchors", "gpu-bench",
         "emit-hls", "csim", "emit-rtl", "verify", "synth", "export", "devices", "models"]


def _command_modules():
    import importlib
    import pkgutil

    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            mods.append(mod)
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(mods, key=lambda m: (rank.get(m.NAME, len(ORDER)), m.NAME))


def _formatter():
    """--help shows a flag's default once: "(default: X)" is added when the flag has a value default
    and its help does not already say what the default is (None, False and store_true flags show none)."""
    import argparse

    class HelpFormatter(argparse.HelpFormatter):
        def _get_help_string(self, action):
            text = action.help or ""
            d = action.default
            if (not action.option_strings or d is None or isinstance(d, bool) or d is argparse.SUPPRESS
                    or "default" in text):
                return text
            return f"{text} (default: %(default)s)"

    return HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Hardware/software co-design explorer for LLM inference on FPGAs.",
    )
    parser.add_argument("--version", action="version", version=f"codesign {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=_formatter())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser




class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C: outputs in progress are cleaned up."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def _sigterm_as_interrupt():
    """Treat SIGTERM like Ctrl-C while a command runs (unless the caller chose to ignore it).

    Returns the handler to put back afterwards, or None.
    """
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_interrupted)
            return signal.SIG_DFL
    except ValueError:   # not the main thread: leave signals alone
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    command = words[0] if words else ""
    restore = None
    try:
        restore = _sigterm_as_interrupt()
        from .errors import CodesignError

        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        if not getattr(args, "_run", None):
            parser.print_help()
            return 2
        try:
            return int(args._run(args) or 0)
        except CodesignError as e:
            print(f"codesign {command}: error: {e}", file=sys.stderr)
            return 2
    except KeyboardInterrupt as e:
        # One line: what was interrupted and, where a command says so, how to continue.
        notes = "; ".join(getattr(e, "__notes__", ()))
        # CPython (3.8-3.12) quirk: an interrupt that lands inside a string exec (dataclasses build
        # their methods so, at import) leaves a flag that makes `python -m codesign` die by SIGINT
        # at exit although the interrupt was handled here; a string exec clears that flag.
        exec("pass", {})  # noqa: S102 - constant string
        prog = f"codesign {command}" if command else "codesign"
        print(f"{prog}: interrupted" + (f"; {notes}" if notes else ""), file=sys.stderr)
        return 128 + getattr(e, "signum", signal.SIGINT)
    finally:
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)


if __name__ == "__main__":
    sys.exit(main())
