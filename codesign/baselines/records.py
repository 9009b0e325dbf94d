"""Measured GPU records (``codesign gpu-bench`` output) committed as data.

They live in ``codesign/baselines/data/measured/*.json``, one file per run, each holding the exact
command, GPU, driver, clocks and software it was taken with. ``codesign compare`` prefers a
measured record over the model for the same GPU, model and precision.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CodesignError
from .bench import RECORD_SCHEMA

MEASURED_DIR = Path(__file__).parent / "data" / "measured"
_REQUIRED = ("schema", "command", "model", "dtype", "stack", "gpu", "software", "decode")


def check_record(rec, where: str) -> dict:
    if not isinstance(rec, dict):
        raise CodesignError("must be a JSON object", field=where)
    for k in _REQUIRED:
        if k not in rec:
            raise CodesignError("missing", field=f"{where}.{k}")
    if rec["schema"] != RECORD_SCHEMA:
        raise CodesignError(f"got {rec['schema']!r}; expected {RECORD_SCHEMA!r}", field=f"{where}.schema")
    med = rec["decode"].get("median") if isinstance(rec["decode"], dict) else None
    if not isinstance(med, dict) or not isinstance(med.get("tokens_per_s"), (int, float)):
        raise CodesignError("needs median.tokens_per_s", field=f"{where}.decode")
    if not isinstance(rec["gpu"], dict) or "name" not in rec["gpu"]:
        raise CodesignError("needs the GPU name", field=f"{where}.gpu")
    return rec


def load_records(folder: str | Path = MEASURED_DIR) -> list[dict]:
    """Every record in ``folder`` (sorted by file name), each checked; [] if none."""
    folder = Path(folder)
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise CodesignError(f"'{path}' is not valid JSON ({e})", field="measured record") from None
        rec = check_record(rec, path.name)
        out.append({**rec, "_file": path.name})
    return out


def find_record(device: str, model: str, dtype: str = "fp16", records: list[dict] | None = None) -> dict | None:
    """The newest measured record for this database GPU, model and precision (None if none).
    fp16 and bf16 count as the same precision (same bytes and tensor throughput)."""
    same = {"fp16": {"fp16", "bf16"}, "bf16": {"fp16", "bf16"}}.get(dtype, {dtype})
    records = load_records() if records is None else records
    hits = [r for r in records if r["gpu"].get("device") == device and r["model"] == model and r["dtype"] in same
            and r["decode"]["median"].get("j_per_token") is not None]
    return max(hits, key=lambda r: r.get("timestamp_utc", "")) if hits else None
