"""The perplexity text: English prose committed with the package (public domain), or, for the
real-layer vectors only, standard-library docstrings.

Default (``text="alice29"``): Lewis Carroll's *Alice's Adventures in Wonderland* as the PyPI sdist
``brotli==1.2.1`` ships it (``tests/testdata/alice29.txt``, the Canterbury corpus file), committed
byte for byte under ``codesign/quant/data/text/`` with its source and sha256 (``SOURCE.md``). The
sha256 is checked before every use. It is normalised deterministically: CRLF -> LF, words split by a
line-end hyphen re-joined, each paragraph (blank-line separated) reflowed to one line with single
spaces, paragraphs joined by a blank line. ``"stdlib-docstrings"`` is the former sample (module
docstrings of ``MODULES``), kept because ``codesign.quant.real_layer`` reads its tokens.

The token stream is cut into consecutive ``window``-token windows and ``n_windows`` of them are
taken evenly spaced over the whole stream (window index ``floor(i * total / n_windows)``); the
calibration windows are evenly spaced over the rest. The source, the sha256 of the text and the
normalisation are recorded with every measurement so two measurements can be compared.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from .axes import DEFAULT_TEXT, DEFAULT_WINDOWS

TEXT_DIR = Path(__file__).resolve().parent.parent / "data" / "text"

# The committed prose texts: file, sha256 of the file as committed, where it comes from.
PROSE = {
    "alice29": {
        "file": "alice29.txt",
        "sha256": "7467306ee0feed4971260f3c87421154a05be571d944e9cb021a5713700c38f0",
        "title": "Alice's Adventures in Wonderland, Lewis Carroll (Project Gutenberg, Millennium Fulcrum Edition 2.9)",
        "source": "PyPI sdist brotli==1.2.1, member brotli-1.2.1/tests/testdata/alice29.txt (the Canterbury corpus file)",
        "sdist_sha256": "02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de",
        "license": "public domain",
    },
}

DOCSTRINGS = "stdlib-docstrings"
NORMALISATION = ("CRLF -> LF; a word split by a line-end hyphen re-joined; each blank-line separated paragraph "
                 "reflowed to one line with single spaces; paragraphs joined by one blank line")

# Chosen for prose (not code listings) and to import without optional system libraries (no tkinter,
# curses, sqlite3). Order matters: it fixes the text.
MODULES = (
    "abc argparse ast asyncio base64 bisect calendar cmd codecs collections contextlib copy csv "
    "dataclasses datetime decimal difflib dis email enum fractions ftplib functools getopt gettext glob "
    "gzip hashlib heapq hmac html http http.client http.server imaplib inspect io ipaddress itertools "
    "json logging mailbox math mimetypes multiprocessing numbers operator optparse os pathlib pdb pickle "
    "pickletools pkgutil platform poplib pprint profile pydoc queue quopri random re sched secrets "
    "selectors shelve shlex shutil smtplib socket socketserver statistics string struct subprocess "
    "tempfile timeit tokenize trace typing unittest urllib.parse urllib.request uuid xml zipimport"
).split()

DEFAULT_WINDOW = 256


def docstring_text() -> tuple[str, list[str]]:
    """(the joined docstrings, the modules used)."""
    docs, used = [], []
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
        except Exception:  # a Python built without this module: skip, the record shows it
            continue
        doc = inspect.getdoc(mod)
        if doc:
            docs.append(doc)
            used.append(name)
    return "\n\n".join(docs), used


def normalise_prose(raw: str) -> str:
    """The text as scored (see ``NORMALISATION``)."""
    t = raw.replace("\r\n", "\n").replace("\r", "\n")
    t = re.sub(r"(\w)-\n[ \t]*(\w)", r"\1-\2", t)
    paras = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n[ \t]*\n", t))
    return "\n\n".join(p for p in paras if p)


def prose_text(name: str = DEFAULT_TEXT, directory: Path | None = None) -> str:
    """The normalised prose text ``name`` (a key of ``PROSE``), after checking the committed file's sha256."""
    from ...errors import CodesignError

    if name not in PROSE:
        raise CodesignError(f"got {name!r}; allowed: {', '.join(sorted(PROSE))}", field="--text")
    spec = PROSE[name]
    path = (directory or TEXT_DIR) / spec["file"]
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CodesignError(f"cannot read the perplexity text '{path}' ({e})", field="--text") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec["sha256"]:
        raise CodesignError(f"'{path}' has sha256 {digest}, expected {spec['sha256']} ({spec['source']}); "
                            "restore it (git checkout, or re-extract it as docs/ACCURACY.md says)", field="--text")
    return normalise_prose(raw.decode("utf-8"))


def sample_text(name: str = DEFAULT_TEXT) -> tuple[str, dict]:
    """(the text, a description of it) for ``name``: a ``PROSE`` key or ``DOCSTRINGS``."""
    if name == DOCSTRINGS:
        text, used = docstring_text()
        return text, {"name": DOCSTRINGS,
                      "source": "module-level docstrings (inspect.getdoc) of Python standard-library modules, "
                                "in the listed order, joined by blank lines",
                      "modules": used, "python": sys.version.split()[0]}
    text = prose_text(name)
    spec = PROSE[name]
    return text, {"name": name, "title": spec["title"], "source": spec["source"], "file": spec["file"],
                  "file_sha256": spec["sha256"], "sdist_sha256": spec["sdist_sha256"], "license": spec["license"],
                  "normalisation": NORMALISATION}


@dataclass(frozen=True)
class TextSample:
    windows: torch.Tensor      # [n_windows, window] int64 token ids
    total_tokens: int          # tokens in the whole stream
    text: dict                 # sample_text's description (name, source, sha256 of the file, ...)
    text_sha256: str           # of the text as scored (after normalisation)
    window_index: list[int]    # which windows of the stream the sample holds

    def describe(self) -> dict:
        return {
            "text": self.text,
            "windows": "windows evenly spaced over the stream (index floor(i * available / n_windows)); "
                       "calibration windows evenly spaced over the rest",
            "n_windows": int(self.windows.shape[0]),
            "window_tokens": int(self.windows.shape[1]),
            "scored_tokens": int(self.windows.shape[0] * (self.windows.shape[1] - 1)),
            "stream_tokens": self.total_tokens,
            "text_sha256": self.text_sha256,
        }


def _spaced(indices: list[int], n: int) -> list[int]:
    return [indices[i * len(indices) // n] for i in range(n)]


def build_sample(tokenizer, n_windows: int = DEFAULT_WINDOWS, window: int = DEFAULT_WINDOW,
                 calibration: int = 0, text: str = DEFAULT_TEXT) -> tuple[TextSample, torch.Tensor]:
    """(the evaluation sample, ``calibration`` further windows disjoint from it [calibration, window]).

    Calibration windows are evenly spaced over the windows the evaluation sample does not use."""
    from ...errors import CodesignError

    body, desc = sample_text(text)
    ids = tokenizer.encode(body)
    available = len(ids) // window
    if n_windows < 1 or n_windows + calibration > available:
        raise CodesignError(f"got {n_windows} (+{calibration} calibration); allowed: 1..{available - calibration} "
                            f"windows of {window} tokens (the text {text!r} has {len(ids)} tokens)",
                            field="--sample")
    chosen = _spaced(list(range(available)), n_windows)
    rest = [i for i in range(available) if i not in set(chosen)]
    cal = _spaced(rest, calibration) if calibration else []

    def tensor(idx):
        return torch.tensor([ids[i * window:(i + 1) * window] for i in idx], dtype=torch.int64).reshape(len(idx), window)

    sample = TextSample(tensor(chosen), len(ids), desc, hashlib.sha256(body.encode("utf-8")).hexdigest(), chosen)
    return sample, tensor(cal)
