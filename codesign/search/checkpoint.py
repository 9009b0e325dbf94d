"""A sweep's working folder (``<out>.partial``): inputs, state, streamed point rows.

Layout:
    manifest.json          the inputs; a resume with different inputs is refused
    state.npz              the accumulated state after the last checkpointed chunk
    points/part-<start>.csv  points.csv rows of the chunk starting at grid index <start>
                           (.arrow: an Arrow IPC stream of its typed columns, for points.parquet)

Every file is written atomically, so a sweep killed at any moment leaves a
consistent folder: on resume, chunks after the saved state are recomputed
(their part files are rewritten with the same bytes).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np

from ..errors import CodesignError
from ..fsutil import atomic_write_bytes, atomic_write_json, dumps_json
from .engine import SweepState

MANIFEST = "manifest.json"
STATE = "state.npz"
POINTS = "points"


def partial_dir_for(out: Path) -> Path:
    return out.parent / f"{out.name}.partial"


class Checkpoint:
    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return (self.path / MANIFEST).is_file()

    def start(self, manifest: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / POINTS).mkdir(exist_ok=True)
        atomic_write_json(self.path / MANIFEST, manifest)

    def check_manifest(self, manifest: dict) -> None:
        try:
            saved = json.loads((self.path / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise CodesignError(f"cannot read '{self.path / MANIFEST}' ({e}); pass --force to start over",
                                field="--resume") from None
        if dumps_json(saved) != dumps_json(manifest):
            diff = sorted(k for k in set(saved) | set(manifest) if saved.get(k) != manifest.get(k))
            raise CodesignError(f"the interrupted sweep in '{self.path}' was started with different inputs "
                                f"(differs in: {', '.join(diff)}); pass --force to start over", field="--resume")

    def save_state(self, state: SweepState) -> None:
        buf = io.BytesIO()
        np.savez(buf, **state.to_arrays())
        atomic_write_bytes(self.path / STATE, buf.getvalue())

    def load_state(self) -> SweepState | None:
        p = self.path / STATE
        if not p.is_file():
            return None
        with np.load(p) as z:
            return SweepState.from_arrays({k: z[k] for k in z.files})

    def part_path(self, start: int, ext: str = "csv") -> Path:
        return self.path / POINTS / f"part-{start:012d}.{ext}"

    def write_part(self, start: int, data: bytes, ext: str = "csv") -> None:
        atomic_write_bytes(self.part_path(start, ext), data)

    def parts(self, chunk_starts, ext: str = "csv") -> list[Path]:
        paths = [self.part_path(s, ext) for s in chunk_starts]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise CodesignError(f"checkpoint is missing {len(missing)} point file(s), e.g. '{missing[0]}'; "
                                "pass --force to start over", field="--resume")
        return paths

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
