"""codesign: hardware/software co-design explorer for LLM inference on FPGAs.

The Python API (``codesign/api.py``): ``from codesign import evaluate, sweep, load_sweep, Design``.
It is loaded on first use, so ``import codesign`` (and the ``codesign`` command's start) stays light.
"""

__version__ = "0.1.0"

_API = ("evaluate", "sweep", "load_sweep", "SweepResult", "Design")


def __getattr__(name):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'codesign' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
