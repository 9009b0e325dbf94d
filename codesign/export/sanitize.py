"""Names and paths that come from design.json end up in Makefiles, TCL and C++: sanitise them."""

from __future__ import annotations

import re

from ..errors import CodesignError

_IDENT = re.compile(r"[^A-Za-z0-9_]")


def identifier(text: str, field: str) -> str:
    """A C/TCL/Make-safe identifier: [A-Za-z_][A-Za-z0-9_]*, at most 64 characters."""
    if not isinstance(text, str) or not text:
        raise CodesignError("must be a non-empty string", field=field)
    out = _IDENT.sub("_", text)
    if out[0].isdigit():
        out = "_" + out
    return out[:64]


def relative_file(path: str, field: str) -> str:
    """A relative path inside the project: no absolute paths, no '..', no odd characters."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        raise CodesignError(f"{path!r} must be a relative posix path", field=field)
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or not all(re.fullmatch(r"[A-Za-z0-9_.+-]+", p) for p in parts):
        raise CodesignError(f"{path!r} has an empty, '..' or unsafe component", field=field)
    return path
