"""Atomic output: nothing half-written, nothing overwritten without --force.

Every output folder is staged next to its destination and renamed into place, with a marker
file (``.codesign-output``) in it: ``--force`` replaces a folder only when it carries the marker
(or is empty), never a file or a folder the user made. A path that cannot be written (a parent
that is a file, ``/proc``, ``/sys``, no permission, a full disk) is a one-line ``CodesignError``
naming the path, checked before any work starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import CodesignError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def os_error(e: OSError, path: str | os.PathLike, field: str | None = None,
             doing: str = "cannot write") -> CodesignError:
    """A one-line error for a failed file-system call on ``path`` (named as the user gave it)."""
    path = Path(path)
    base = _nearest_existing(path.parent)
    if base.exists() and not base.is_dir():
        return CodesignError(f"{doing} '{path}': '{base}' is a file, not a folder", field=field)
    return CodesignError(f"{doing} '{path}': {(e.strerror or str(e)).lower()}", field=field)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, field: str | None = None) -> None:
    """Write to a temp file in the same folder, fsync, then rename over ``path``.

    A folder at ``path`` is refused; any file-system failure is a one-line ``CodesignError``.
    """
    path = Path(path)
    if path.is_dir():
        raise CodesignError(f"'{path}' is a folder; give a file name", field=field)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise os_error(e, path, field) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise os_error(e, path, field) from None
        raise


def atomic_write_text(path: str | os.PathLike, text: str, field: str | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), field=field)


def load_user_file(path: str | os.PathLike, field: str, fmt: str | None = None) -> Any:
    """Parse a file the user hands in (JSON or YAML): the data, or a one-line ``CodesignError``.

    ``fmt`` is "json" or "yaml"; None picks by suffix (.json is JSON, anything else YAML). A
    missing or unreadable file, bytes that are not UTF-8, a syntax error, a number too long to
    convert, nesting too deep to parse: each is an error naming the file, never a traceback.
    """
    path = Path(path)
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "yaml")
    name = fmt.upper()
    try:
        if not path.is_file():
            raise CodesignError(f"file '{path}' not found", field=field)
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise os_error(e, path, field, doing="cannot read") from None
    except UnicodeDecodeError as e:
        raise CodesignError(f"'{path}' is not UTF-8 text (byte {e.start})", field=field) from None
    except ValueError:   # a path with a NUL byte
        raise CodesignError(f"file '{path}' not found", field=field) from None
    try:
        if fmt == "json":
            return json.loads(text)
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or type(e).__name__
            raise CodesignError(f"'{path}' is not valid {name}{at} ({' '.join(str(problem).split())})",
                                field=field) from None
    except RecursionError:
        raise CodesignError(f"'{path}' is nested too deeply to read", field=field) from None
    except json.JSONDecodeError as e:
        raise CodesignError(f"'{path}' is not valid {name} (line {e.lineno}, column {e.colno}: {e.msg})",
                            field=field) from None
    except ValueError as e:   # e.g. an integer of more than 4300 digits
        raise CodesignError(f"'{path}' is not valid {name} ({' '.join(str(e).split(';')[0].split())[:120]})",
                            field=field) from None


def dumps_json(obj) -> str:
    """Deterministic JSON: sorted keys, fixed indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def atomic_write_json(path: str | os.PathLike, obj, field: str | None = None) -> None:
    atomic_write_text(path, dumps_json(obj), field=field)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back for a few steps that must happen together.

    A signal that arrives meanwhile is delivered (raising as usual) as soon as the block ends,
    so the program stops at the next consistent point instead of between two steps.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


MARKER = ".codesign-output"
MARKER_TEXT = ("This folder was written by codesign. `--force` replaces a folder only when it holds this file;\n"
               "delete the file to protect the folder from being replaced.\n")


def _written_by_codesign(path: Path) -> bool:
    if (path / MARKER).is_file():
        return True
    # A sweep folder written before the marker existed (so `make sweep`, which passes --force,
    # keeps working on an old runs/default): its summary.json names the codesign version.
    try:
        return "codesign_version" in json.loads((path / "summary.json").read_text())
    except (OSError, ValueError, TypeError, UnicodeDecodeError):
        return False


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_output_dir(path: str | os.PathLike, force: bool = False, field: str = "--out") -> Path:
    """Refuse, before any work, an output folder that cannot or may not be written.

    An existing ``path`` needs ``force``, and even then only a folder codesign wrote (its marker
    file) or an empty one is replaced; its parent must be a folder where one can be created.
    """
    path = Path(path)
    if os.path.lexists(path):
        if not force:
            raise CodesignError(f"'{path}' already exists; pass --force to overwrite it", field=field)
        if path.is_symlink() or not path.is_dir():
            raise CodesignError(f"'{path}' is a file, not a folder; --force replaces only a folder codesign "
                                "wrote: remove it yourself or choose another path", field=field)
        try:
            empty = not any(path.iterdir())
        except OSError as e:
            raise os_error(e, path, field, doing="cannot read") from None
        if not empty and not _written_by_codesign(path):
            raise CodesignError(f"'{path}' is not a folder codesign wrote (no {MARKER} file in it); --force "
                                "replaces only those: remove it yourself or choose another path", field=field)
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise CodesignError(f"cannot create '{path}': '{base}' is a file, not a folder", field=field)
    try:   # the only reliable test (permissions, read-only and virtual file systems): try it
        os.rmdir(tempfile.mkdtemp(prefix=".codesign-probe.", dir=base))
    except OSError as e:
        raise CodesignError(f"cannot create '{path}': {(e.strerror or str(e)).lower()} in '{base}'",
                            field=field) from None
    return path


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike, force: bool = False, field: str = "--out") -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``path`` in one rename.

    ``path`` is checked first (``check_output_dir``). The staging folder holds the marker file
    from the start, so it is listed by anything that walks the folder (an export manifest). On
    any error the staging folder is removed and ``path`` is left as it was; a file-system error
    is a one-line ``CodesignError``.
    """
    path = check_output_dir(path, force, field)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".staging", dir=path.parent))
        os.chmod(staging, 0o777 & ~_umask())   # mkdtemp makes 0700; the result is an ordinary folder
        (staging / MARKER).write_text(MARKER_TEXT)
    except OSError as e:
        raise os_error(e, path, field, doing="cannot create") from None
    try:
        yield staging
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError):
            what = f"'{e.filename}'" if e.filename else type(e).__name__
            raise CodesignError(f"{(e.strerror or str(e)).lower()}: {what}; nothing was written to '{path}'") \
                from None
        raise
    try:
        with signals_deferred():   # the old folder out, the new one in: both or neither
            if os.path.lexists(path):
                check_output_dir(path, force, field)   # still one codesign may replace
                trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
                os.replace(path, trash / "old")
                try:
                    os.replace(staging, path)
                except OSError:
                    os.replace(trash / "old", path)   # put the old folder back
                    raise
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.replace(staging, path)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError):
            raise os_error(e, path, field) from None
        raise


def remove_dir(path: str | os.PathLike) -> None:
    """Remove a folder so that no half-deleted copy is ever seen under its name.

    It is first renamed to a hidden sibling (one atomic step), then deleted; an interrupt
    during the deletion leaves only that hidden leftover.
    """
    path = Path(path)
    if not path.exists():
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    os.replace(path, trash / "old")
    shutil.rmtree(trash, ignore_errors=True)
