"""docs/ARCHITECTURE.md is the map: it names every stage folder (one paragraph each) in the import
order the code follows, and every module that points to it finds what it points at."""

import re
from pathlib import Path

from test_import_direction import ORDER

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text()


def test_every_folder_has_its_paragraph():
    folders = sorted(p.name for p in (ROOT / "codesign").iterdir() if (p / "__init__.py").is_file())
    missing = [f for f in folders if f"**`{f}/`**" not in DOC]
    assert missing == []


def test_the_drawn_order_is_the_checked_order():
    line = next(ln for ln in DOC.splitlines() if ln.startswith("devices -> "))
    assert tuple(s.strip() for s in line.split("->")) == ORDER


def test_modules_pointing_here_find_their_topic():
    # each pointer's topic (a phrase of the code's comment) -> the words the doc must hold for it
    topics = {"14.4 GB/s": "14.4 GB/s needs a 512-bit port", "0.35": "0.7 same-channel",
              "upper bound": "upper bound", "PyTorch frontend": "PyTorch frontend",
              "what each module": "**`model/`**", "design.json": "`design.json`", "Imports run one way": "imports only stages",
              "256-bit port": "a 256-bit port at the same clock gets half",
              "Test tiers": "`make test-fast` is the developer tier"}
    pointers = []
    for path in list((ROOT / "codesign").rglob("*.py")) + [p for p in (ROOT / "tests").glob("*.py")
                                                                  if p.name != Path(__file__).name]:
        text = path.read_text()
        for m in re.finditer(r"(?<!shared/)(?:docs/)?ARCHITECTURE\.md", text):
            context = text[max(0, m.start() - 200):m.end() + 200]
            hits = [want for key, want in topics.items() if key in context]
            pointers.append((path.name, hits))
    assert pointers, "no module points to docs/ARCHITECTURE.md"
    unresolved = [name for name, hits in pointers if not hits]
    assert unresolved == [], f"pointers with no topic the doc covers: {unresolved}"
    for _, hits in pointers:
        for want in hits:
            assert want in DOC, want
