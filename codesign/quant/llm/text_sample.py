"""The perplexity text: real English that is on every machine with Python, downloaded from nowhere.

The sample is the module-level docstrings (``inspect.getdoc``) of a fixed list of standard-library
modules, in the order of ``MODULES``, joined by a blank line. The token stream is cut into
consecutive ``window``-token windows and ``n_windows`` of them are taken evenly spaced over the whole
stream (window index ``floor(i * total / n_windows)``), so even a small sample spans many modules.
Modules that fail to import (a Python built without them) are skipped; the module list actually used
and a SHA-256 of the text are recorded with every measurement so two measurements can be compared.
Docstrings change between Python versions: the interpreter version is recorded too.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from dataclasses import dataclass

import torch

from .axes import DEFAULT_WINDOWS

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


@dataclass(frozen=True)
class TextSample:
    windows: torch.Tensor      # [n_windows, window] int64 token ids
    total_tokens: int          # tokens in the whole docstring stream
    modules: list[str]
    text_sha256: str
    python: str

    def describe(self) -> dict:
        return {
            "source": "module-level docstrings (inspect.getdoc) of Python standard-library modules, "
                      "in the listed order, joined by blank lines; windows evenly spaced over the stream",
            "modules": self.modules,
            "n_windows": int(self.windows.shape[0]),
            "window_tokens": int(self.windows.shape[1]),
            "scored_tokens": int(self.windows.shape[0] * (self.windows.shape[1] - 1)),
            "stream_tokens": self.total_tokens,
            "text_sha256": self.text_sha256,
            "python": self.python,
        }


def _spaced(indices: list[int], n: int) -> list[int]:
    return [indices[i * len(indices) // n] for i in range(n)]


def build_sample(tokenizer, n_windows: int = DEFAULT_WINDOWS, window: int = DEFAULT_WINDOW,
                 calibration: int = 0) -> tuple[TextSample, torch.Tensor]:
    """(the evaluation sample, ``calibration`` further windows disjoint from it [calibration, window]).

    Calibration windows are evenly spaced over the windows the evaluation sample does not use."""
    from ...errors import CodesignError

    text, used = docstring_text()
    ids = tokenizer.encode(text)
    available = len(ids) // window
    if n_windows < 1 or n_windows + calibration > available:
        raise CodesignError(f"got {n_windows} (+{calibration} calibration); allowed: 1..{available - calibration} "
                            f"windows of {window} tokens (the docstring stream has {len(ids)} tokens)",
                            field="--sample")
    chosen = _spaced(list(range(available)), n_windows)
    rest = [i for i in range(available) if i not in set(chosen)]
    cal = _spaced(rest, calibration) if calibration else []

    def tensor(idx):
        return torch.tensor([ids[i * window:(i + 1) * window] for i in idx], dtype=torch.int64).reshape(len(idx), window)

    sample = TextSample(tensor(chosen), len(ids), used, hashlib.sha256(text.encode("utf-8")).hexdigest(),
                        sys.version.split()[0])
    return sample, tensor(cal)
