"""Byte-level BPE tokenizer (GPT-2 style) built from a GGUF's ``tokenizer.ggml.*`` metadata.

SmolLM2 declares ``tokenizer.ggml.model = 'gpt2'`` and ``tokenizer.ggml.pre = 'smollm'``.
llama.cpp's pre-tokenizer for 'smollm' (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_SMOLLM, shared
with starcoder) first splits every digit on its own (``\\p{N}``), then applies the GPT-2 regex
``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``
(the HF tokenizer.json of SmolLM2: Digits(individual_digits) + ByteLevel). Python's ``re`` has
no ``\\p{..}``, so the letter and number classes are built once from ``unicodedata``.
Each piece is mapped byte -> printable unicode char (GPT-2 ``bytes_to_unicode``) and merged by
BPE rank (lowest rank first).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np

from ...errors import CodesignError


@functools.lru_cache(maxsize=1)
def _major_categories() -> np.ndarray:
    """uint8 [0x110000]: the first letter of every code point's Unicode general category.

    Planes 4..16 hold no letters or numbers (unassigned, tags/variation selectors, private use):
    they are filled with 'C' without asking unicodedata, which makes this 4x faster."""
    top = 0x40000
    first = "".join(c[0] for c in map(unicodedata.category, map(chr, range(top))))
    cats = np.full(sys.maxunicode + 1, ord("C"), dtype=np.uint8)
    cats[:top] = np.frombuffer(first.encode("ascii"), dtype=np.uint8)
    return cats


@functools.lru_cache(maxsize=None)
def _unicode_class(prefix: str) -> str:
    """A regex character-class body covering every code point whose category starts with ``prefix``."""
    mask = np.concatenate([[False], _major_categories() == ord(prefix), [False]])
    edges = np.flatnonzero(mask[1:] != mask[:-1])
    starts, ends = edges[0::2], edges[1::2] - 1
    esc = lambda c: re.escape(chr(int(c)))  # noqa: E731
    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in zip(starts, ends))


@functools.lru_cache(maxsize=None)
def _gpt2_pattern() -> re.Pattern:
    L, N = _unicode_class("L"), _unicode_class("N")
    return re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{L}]+| ?[{N}]+| ?[^\s{L}{N}]+|\s+(?!\S)|\s+")


@functools.lru_cache(maxsize=None)
def _number_pattern() -> re.Pattern:
    return re.compile(f"[{_unicode_class('N')}]")


@functools.lru_cache(maxsize=None)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable-character map (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


TOKEN_TYPE_CONTROL = 3  # llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte


class BPETokenizer:
    def __init__(self, tokens: list[str], merges: list[str], token_types: list[int] | None = None,
                 pre: str = "smollm", bos_id: int | None = None, eos_id: int | None = None):
        if pre not in ("smollm", "gpt2", "default"):
            raise CodesignError(f"unsupported pre-tokenizer {pre!r}; supported: smollm, gpt2", field="tokenizer")
        self.tokens = list(tokens)
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {}
        for r, m in enumerate(merges):
            a, _, b = m.partition(" ")
            self.ranks[(a, b)] = r
        self.split_digits = pre == "smollm"
        types = token_types or [1] * len(tokens)
        self.special = {t: i for i, (t, ty) in enumerate(zip(self.tokens, types)) if ty == TOKEN_TYPE_CONTROL}
        self.bos_id, self.eos_id = bos_id, eos_id
        self._b2u = bytes_to_unicode()
        self._u2b = {c: b for b, c in self._b2u.items()}
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def _pretokenize(self, text: str) -> list[str]:
        pat = _gpt2_pattern()
        if not self.split_digits:
            return pat.findall(text)
        pieces = []
        pos = 0
        for m in _number_pattern().finditer(text):
            pieces += pat.findall(text[pos:m.start()])
            pieces.append(m.group())
            pos = m.end()
        pieces += pat.findall(text[pos:])
        return pieces

    def _bpe(self, piece: str) -> list[int]:
        hit = self._cache.get(piece)
        if hit is not None:
            return hit
        word = [self._b2u[b] for b in piece.encode("utf-8")]
        while len(word) > 1:
            best, best_rank = None, None
            for i in range(len(word) - 1):
                r = self.ranks.get((word[i], word[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            a, b = word[best], word[best + 1]
            merged, i = [], 0
            while i < len(word):  # merge every occurrence of the pair, left to right
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        try:
            ids = [self.vocab[w] for w in word]
        except KeyError as e:
            raise CodesignError(f"symbol {e} not in the vocabulary", field="tokenizer") from None
        if len(self._cache) < 200_000:
            self._cache[piece] = ids
        return ids

    def encode(self, text: str, special: bool = False) -> list[int]:
        """Token ids of ``text``; with ``special`` control tokens written literally (e.g. '<|im_start|>') map to their ids."""
        if special and self.special:
            alt = "|".join(re.escape(s) for s in sorted(self.special, key=len, reverse=True))
            out: list[int] = []
            for part in re.split(f"({alt})", text):
                if part in self.special:
                    out.append(self.special[part])
                elif part:
                    out += self.encode(part)
            return out
        out = []
        for piece in self._pretokenize(text):
            out += self._bpe(piece)
        return out

    def decode(self, ids: list[int]) -> str:
        buf = bytearray()
        for i in ids:
            tok = self.tokens[int(i)]
            if int(i) in self.special.values():
                buf += tok.encode("utf-8")
            else:
                buf += bytes(self._u2b[c] for c in tok)
        return buf.decode("utf-8", errors="replace")


def tokenizer_from_gguf(path: str | Path) -> BPETokenizer:
    from .gguf_loader import open_gguf

    path = Path(path)
    reader = open_gguf(path)

    def get(key, default=None):
        f = reader.fields.get(key)
        return f.contents() if f is not None else default

    model = get("tokenizer.ggml.model")
    if model != "gpt2":
        raise CodesignError(f"'{path}': unsupported tokenizer model {model!r}; supported: gpt2 (byte-level BPE)",
                            field="--model")
    tokens, merges = get("tokenizer.ggml.tokens"), get("tokenizer.ggml.merges")
    if not tokens or not merges:
        raise CodesignError(f"'{path}': tokenizer.ggml.tokens/merges missing", field="--model")
    return BPETokenizer(tokens, merges, get("tokenizer.ggml.token_type"), pre=get("tokenizer.ggml.pre", "gpt2"),
                        bos_id=get("tokenizer.ggml.bos_token_id"), eos_id=get("tokenizer.ggml.eos_token_id"))
