"""The export manifest: every file of an exported project with its size and SHA-256.

Written last, so a folder with a manifest is a complete one; ``verify_manifest`` tells a
user (or a test) whether anything was changed or lost since export.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import CodesignError
from ..fsutil import dumps_json

MANIFEST = "MANIFEST.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_manifest(root: Path, meta: dict) -> str:
    """JSON text listing every file under ``root`` (sorted, posix paths), excluding the manifest."""
    files = []
    for p in sorted(root.rglob("*"), key=lambda q: q.relative_to(root).as_posix()):
        if p.is_file() and p.name != MANIFEST:
            files.append({"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size,
                          "sha256": sha256_file(p)})
    return dumps_json({"schema": "codesign.export-manifest/1", **meta, "files": files})


def verify_manifest(root: str | Path) -> list[str]:
    """Problems found (empty when the folder matches its manifest)."""
    root = Path(root)
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise CodesignError(f"no {MANIFEST} in '{root}'", field="--out")
    data = json.loads(mpath.read_text())
    problems = []
    listed = set()
    for entry in data["files"]:
        p = root / entry["path"]
        listed.add(entry["path"])
        if not p.is_file():
            problems.append(f"missing: {entry['path']}")
        elif sha256_file(p) != entry["sha256"]:
            problems.append(f"changed: {entry['path']}")
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and p.name != MANIFEST and rel not in listed:
            problems.append(f"unlisted: {rel}")
    return problems
