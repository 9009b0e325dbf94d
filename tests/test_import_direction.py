"""Imports run one way along the pipeline (docs/ARCHITECTURE.md): the numerics, the ISA and the
analytical model never import a later stage, at module level or inside a function."""

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "codesign"
EARLY = ("model", "quant", "isa", "workload", "devices")
LATER = ("vectors", "search", "gen", "export", "commands", "baselines", "cli", "api")


def imported_modules(path: Path):
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    rel = path.relative_to(PKG.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            yield node.lineno, mod
            for a in node.names:          # "from .. import gen" imports a stage too
                yield node.lineno, f"{mod}.{a.name}"


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "codesign" else None


def violations(early=EARLY, later=LATER):
    out = []
    for stage in early:
        for path in sorted((PKG / stage).rglob("*.py")):
            for line, mod in imported_modules(path):
                if stage_of(mod) in later:
                    out.append(f"{path.relative_to(PKG.parent)}:{line} imports {mod}")
    return out


def test_early_stages_never_import_later_ones():
    assert violations() == []


def test_the_check_sees_a_backward_import(tmp_path, monkeypatch):
    # the checker itself must find a planted backward import (relative, inside a function)
    fake = tmp_path / "codesign"
    (fake / "model").mkdir(parents=True)
    (fake / "model" / "x.py").write_text("def f():\n    from ..baselines.gpu_model import evaluate_gpu\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert violations(early=("model",)) == ["codesign/model/x.py:2 imports codesign.baselines.gpu_model",
                                            "codesign/model/x.py:2 imports codesign.baselines.gpu_model.evaluate_gpu"]


@pytest.mark.parametrize("stage", EARLY + LATER[:-1])
def test_stage_folders_exist(stage):
    assert (PKG / stage).is_dir() or (PKG / f"{stage}.py").is_file()
