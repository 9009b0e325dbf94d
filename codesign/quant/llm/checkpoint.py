"""One entry point for real checkpoints: a GGUF file or a Hugging Face safetensors folder."""

from __future__ import annotations

from pathlib import Path

import torch

from ...errors import CodesignError
from .gguf_loader import load_gguf
from .paths import smollm2_gguf_path
from .safetensors_loader import load_hf_folder

# Model names the accuracy command accepts besides a path.
KNOWN_MODELS = {"smollm2-135m": smollm2_gguf_path}


def resolve_model(name_or_path: str | Path) -> Path:
    """A known model name (e.g. 'smollm2-135m') or a path to a .gguf file / HF folder."""
    if str(name_or_path) in KNOWN_MODELS:
        return KNOWN_MODELS[str(name_or_path)]()
    path = Path(name_or_path)
    if not path.exists():
        raise CodesignError(f"'{path}' not found; give a .gguf file, a Hugging Face checkpoint folder, "
                            f"or one of: {', '.join(sorted(KNOWN_MODELS))}", field="--model")
    return path


def load_checkpoint(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config dict with ModelConfig field names + rope_theta/norm_eps, float32 weights by canonical name).

    Weight names are documented in ``codesign.quant.llm.naming``.
    """
    path = resolve_model(path)
    if path.is_dir():
        return load_hf_folder(path)
    return load_gguf(path)
