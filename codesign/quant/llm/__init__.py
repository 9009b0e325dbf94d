"""A real LLM for accuracy measurement: loaders (GGUF, HF safetensors), tokenizer, torch LLaMA,
perplexity on a fixed English sample, and quantized evaluation in the golden model's arithmetic.

Imports are lazy (PEP 562): building the CLI parser touches this package, and torch must not be
imported for commands that do not need it (`codesign sweep` starts in well under a second)."""

from __future__ import annotations

import importlib

__all__ = ["load_checkpoint", "resolve_model", "smollm2_gguf_path"]
_WHERE = {"load_checkpoint": ".checkpoint", "resolve_model": ".checkpoint", "smollm2_gguf_path": ".paths"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
