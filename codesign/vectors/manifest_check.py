"""The structure of a golden-vector folder's ``manifest.json``, checked before it is read.

``read_vectors`` runs this check first, then verifies the files (presence, size, SHA-256), and
``replay`` runs them; both index the manifest as ``write_vectors`` wrote it. A folder a user hands
in (``vectors --check``, ``emit-hls --vectors``, ``export --vectors``, ``verify --vectors``) may hold
anything: every field those readers use is checked here, of the type and range they assume, and
every file name inside the folder. Each failure is one ``CodesignError`` line naming the manifest key.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import CodesignError

REQUIRED_FILES = ("inputs.bin", "instr.bin", "gmem_w.bin", "gmem_kv.bin", "gmem_io.bin", "output.bin")
STEP_KINDS = ("buf", "kv", "io")
WORD_BYTES = 64                 # one instruction (docs/ISA.md)
MAX_INSTRUCTIONS = 1 << 20
MAX_ELEMS = 1 << 28
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _int(value: Any, key: str, lo: int, hi: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CodesignError(f"got {value!r}; must be an integer in [{lo}, {hi}] (in '{where}')", field=key)
    return value


def _name(name: Any, key: str, where: str) -> str:
    """A file name of the manifest: a relative path that stays inside the folder."""
    bad = (not isinstance(name, str) or not name or "\\" in name or "\0" in name
           or PurePosixPath(name).is_absolute()
           or any(part in ("", ".", "..") for part in name.split("/")))
    if bad:
        raise CodesignError(f"got {name!r}; a file name must be a relative path inside the folder "
                            f"(in '{where}')", field=key)
    return name


def check_vector_folder(folder: str | Path, field: str) -> dict:
    """The manifest of a vector folder, or a one-line error (``field``: the flag that named it)."""
    from ..design import HW_ALLOWED, Quant, check_value
    from ..fsutil import load_user_file
    from .golden_vectors import SCHEMA

    folder = Path(folder)
    mpath = folder / "manifest.json"
    if not folder.is_dir():
        raise CodesignError(f"'{folder}' is not a folder", field=field)
    if not mpath.is_file():
        raise CodesignError(f"'{mpath}' not found (not a vector folder)", field=field)
    m = load_user_file(mpath, field, "json")
    where = str(mpath)
    if not isinstance(m, dict):
        raise CodesignError(f"'{where}' must hold a JSON object", field=field)
    if m.get("schema") != SCHEMA:
        raise CodesignError(f"got {m.get('schema')!r}; expected {SCHEMA!r} (in '{where}')", field="schema")

    files = m.get("files")
    if not isinstance(files, dict) or not files:
        raise CodesignError(f"must map file names to {{bytes, sha256}} (in '{where}')", field="files")
    for name, meta in files.items():
        _name(name, "files", where)
        if not isinstance(meta, dict) or set(meta) != {"bytes", "sha256"}:
            raise CodesignError(f"must be {{\"bytes\": N, \"sha256\": HEX}} (in '{where}')", field=f"files.{name}")
        _int(meta["bytes"], f"files.{name}.bytes", 0, 1 << 40, where)
        if not isinstance(meta["sha256"], str) or not _HEX64.fullmatch(meta["sha256"]):
            raise CodesignError(f"must be 64 lower-case hex digits (in '{where}')", field=f"files.{name}.sha256")
    missing = [f for f in REQUIRED_FILES if f not in files]
    if missing:
        raise CodesignError(f"lists no '{missing[0]}' (in '{where}')", field="files")

    quant = m.get("quant")
    names = set(Quant.__dataclass_fields__)
    if not isinstance(quant, dict) or set(quant) != names:
        raise CodesignError(f"must be an object with exactly {sorted(names)} (in '{where}')", field="quant")
    try:
        Quant(**quant).validate()
    except CodesignError as e:
        raise CodesignError(f"{e} (in '{where}')", field="quant") from None
    mpe = m.get("mpe")
    if not isinstance(mpe, dict) or set(mpe) != {"rows", "cols"}:
        raise CodesignError(f"must be {{\"rows\": R, \"cols\": C}} (in '{where}')", field="mpe")
    for k in ("rows", "cols"):
        try:
            check_value(f"mpe.{k}", mpe[k], HW_ALLOWED[k])
        except CodesignError as e:
            raise CodesignError(f"{e} (in '{where}')") from None
    n_instr = _int(m.get("instructions"), "instructions", 1, MAX_INSTRUCTIONS, where)
    _int(m.get("buffer_elems"), "buffer_elems", 1, MAX_ELEMS, where)
    _int(m.get("tokens"), "tokens", 1, 1 << 20, where)
    if files["gmem_io.bin"]["bytes"] < n_instr * WORD_BYTES or files["instr.bin"]["bytes"] != n_instr * WORD_BYTES:
        raise CodesignError(f"{n_instr} instructions need {n_instr * WORD_BYTES} bytes of instr.bin and of "
                            f"gmem_io.bin (in '{where}')", field="instructions")

    steps = m.get("steps")
    if not isinstance(steps, list) or len(steps) != n_instr:
        raise CodesignError(f"must be a list of {n_instr} steps, one per instruction (in '{where}')", field="steps")
    for i, s in enumerate(steps):
        key = f"steps[{i}]"
        if not isinstance(s, dict):
            raise CodesignError(f"must be an object (in '{where}')", field=key)
        if s.get("index") != i or isinstance(s.get("index"), bool):
            raise CodesignError(f"got index {s.get('index')!r}; must be {i} (in '{where}')", field=f"{key}.index")
        if s.get("kind") not in STEP_KINDS:
            raise CodesignError(f"got {s.get('kind')!r}; allowed: {', '.join(STEP_KINDS)} (in '{where}')",
                                field=f"{key}.kind")
        for fk in ("file", "file2"):
            if fk == "file2" and fk not in s:
                continue
            if not isinstance(s.get(fk), str) or s[fk] not in files:
                raise CodesignError(f"got {s.get(fk)!r}; must name a file of 'files' (in '{where}')",
                                    field=f"{key}.{fk}")
    return m


def replay_failure(e: Exception, folder: str | Path, field: str) -> CodesignError:
    """A replay that could not run on a folder whose manifest checked: the files do not fit together."""
    text = " ".join(str(e).split())[:160]
    return CodesignError(f"'{folder}' does not replay ({type(e).__name__}: {text}); its files do not fit "
                         "the manifest: write the folder again with `codesign vectors`", field=field)
