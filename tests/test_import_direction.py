"""Imports run one way along the pipeline (docs/ARCHITECTURE.md): a stage never imports a later one,
at module level or inside a function. The numerics contract (quant/numerics.py) is a leaf every
stage may read (it imports nothing of the package)."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "codesign"
# The pipeline, first to last (the top-level modules design, errors, fsutil are below every stage).
ORDER = ("devices", "workload", "quant", "isa", "model", "vectors", "search", "baselines", "gen", "export",
         "commands", "cli")
LEAVES = ("codesign.quant.numerics",)


def imported_modules(path: Path, root: Path):
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    rel = path.relative_to(root.parent).with_suffix("")
    package = list(rel.parts[:-1])
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                mod = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            yield node.lineno, mod
            for a in node.names:          # "from .. import gen" imports a stage too
                yield node.lineno, f"{mod}.{a.name}"


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "codesign" and parts[1] in ORDER else None


def backward_imports(root: Path = PKG, stages=ORDER) -> list[str]:
    out = []
    for stage in stages:
        here = ORDER.index(stage)
        files = [root / f"{stage}.py"] if (root / f"{stage}.py").is_file() else sorted((root / stage).rglob("*.py"))
        for path in files:
            for line, mod in imported_modules(path, root):
                other = stage_of(mod)
                if other and ORDER.index(other) > here and not any(mod.startswith(leaf) for leaf in LEAVES):
                    out.append(f"{path.relative_to(root.parent)}:{line} imports {mod}")
    return out


def test_no_stage_imports_a_later_one():
    assert backward_imports() == []


def test_numerics_ISA_and_model_import_no_generator_export_command_or_baseline():
    # the acceptance, named: model/quant/isa never reach gen, export, commands, baselines
    bad = [v for v in backward_imports(stages=("model", "quant", "isa"))
           if any(f"codesign.{s}" in v for s in ("gen", "export", "commands", "baselines"))]
    assert bad == []


def test_the_numerics_leaf_imports_nothing_of_the_package():
    path = PKG / "quant" / "numerics.py"
    assert [m for _, m in imported_modules(path, PKG) if m.startswith("codesign")] == []


def test_the_check_sees_a_backward_import(tmp_path):
    # the checker must find a planted backward import (relative, inside a function)
    fake = tmp_path / "codesign"
    (fake / "model").mkdir(parents=True)
    (fake / "model" / "x.py").write_text("def f():\n    from ..baselines.gpu_model import evaluate_gpu\n")
    assert backward_imports(fake, ("model",)) == [
        "codesign/model/x.py:2 imports codesign.baselines.gpu_model",
        "codesign/model/x.py:2 imports codesign.baselines.gpu_model.evaluate_gpu"]


@pytest.mark.parametrize("stage", ORDER)
def test_every_stage_of_the_order_exists(stage):
    assert (PKG / stage).is_dir() or (PKG / f"{stage}.py").is_file()


def test_every_folder_is_in_the_order():
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders <= set(ORDER), folders - set(ORDER)


