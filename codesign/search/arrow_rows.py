"""points.parquet (``--format parquet``): the points.csv columns with their types, via pyarrow.

A chunk's rows travel (from a worker, into the checkpoint folder) as an Arrow IPC stream of typed
columns; the finished sweep writes the chunks in grid order as the row groups of one Parquet file.
Columns are those of points.csv, in its order: ``index`` int64; the integer parameters int32,
``zero_point`` bool, the coded ones (``sparsity``, ``method``) and ``violations`` strings
(dictionary-encoded, like the other non-float columns); ``feasible`` and ``meets_constraints`` bool; the model's outputs
float64 at full precision (points.csv rounds to 8 digits), an unknown value (accuracy not measured)
null; zstd-compressed. Same inputs, same bytes (no timestamps; the writer's version is in the file's footer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..design import CODED_FIELDS
from .engine import POINT_FLOATS
from .space import PARAM_NAMES

# zstd, and dictionary encoding for the parameter / verdict / reason columns only (few distinct values);
# the model's float outputs rarely repeat, and trying a dictionary on them first cost the most time. On
# 1M default-space points (2026-12-06, a loaded 2-CPU machine): 0.42 s to write, 12 MB; Parquet's default
# (snappy, dictionary everywhere) 0.54 s, 27 MB.
COMPRESSION = "zstd"


def schema():
    import pyarrow as pa

    fields = [pa.field("index", pa.int64(), nullable=False)]
    for name in PARAM_NAMES:
        if name in CODED_FIELDS:
            t = pa.string()
        elif name == "zero_point":
            t = pa.bool_()
        else:
            t = pa.int32()
        fields.append(pa.field(name, t, nullable=False))
    fields += [pa.field("feasible", pa.bool_(), nullable=False),
               pa.field("meets_constraints", pa.bool_(), nullable=False),
               pa.field("violations", pa.string(), nullable=False)]
    fields += [pa.field(n, pa.float64()) for n in POINT_FLOATS]
    return pa.schema(fields)


def _labels(codes: np.ndarray, labels: list[str]):
    import pyarrow as pa

    # the distinct labels once, then taken per row (no Python string per row)
    return pa.array(labels, type=pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def record_batch(sweeper, cols: Mapping[str, Any]):
    import pyarrow as pa

    arrays = [pa.array(np.asarray(cols["index"], dtype=np.int64))]
    for name in PARAM_NAMES:
        v = np.asarray(cols[name])
        if name in CODED_FIELDS:
            arrays.append(_labels(v, list(CODED_FIELDS[name])))
        elif name == "zero_point":
            arrays.append(pa.array(v.astype(bool)))
        else:
            arrays.append(pa.array(v.astype(np.int32)))
    arrays.append(pa.array(np.asarray(cols["feasible"], dtype=bool)))
    arrays.append(pa.array(np.asarray(cols["meets_constraints"], dtype=bool)))
    codes, labels = sweeper.violation_labels(np.asarray(cols["violations"]))
    arrays.append(_labels(codes, labels))
    for name in POINT_FLOATS:
        x = np.asarray(cols[name], dtype=np.float64)
        arrays.append(pa.array(x, mask=np.isnan(x)))
    return pa.RecordBatch.from_arrays(arrays, schema=schema())


def ipc_rows(sweeper, cols: Mapping[str, Any]) -> bytes:
    """One chunk's rows as an Arrow IPC stream (what a worker sends back and the checkpoint keeps)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema()) as w:
        w.write_batch(record_batch(sweeper, cols))
    return sink.getvalue().to_pybytes()


def write_parquet(dest: Path, parts: list[Path]) -> int:
    """points.parquet from the chunks' IPC streams, in order, one row group each; returns the rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    dictionary = [n for n in schema().names if n not in POINT_FLOATS and n != "index"]
    with pq.ParquetWriter(str(dest), schema(), compression=COMPRESSION, use_dictionary=dictionary) as w:
        for p in parts:
            with pa.ipc.open_stream(pa.OSFile(str(p), "rb")) as r:
                table = r.read_all()
            if table.num_rows:
                w.write_table(table)
                rows += table.num_rows
    return rows
