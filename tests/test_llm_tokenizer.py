"""The byte-level BPE tokenizer read from SmolLM2's GGUF metadata."""

from __future__ import annotations

import pytest

from codesign.errors import CodesignError
from codesign.quant.llm import smollm2_gguf_path
from codesign.quant.llm.tokenizer import BPETokenizer, bytes_to_unicode, tokenizer_from_gguf


@pytest.fixture(scope="module")
def tok():
    return tokenizer_from_gguf(smollm2_gguf_path())


TEXTS = ["Hello world", "The capital of France is Paris.", "In 2024, x=3.14 ",
         "def foo(bar):\n    return bar  # ok\n\n\n", "naïve café 東京 — “quotes”", "  leading spaces\ttab",
         "don't won't I'm we'll they've", "émoji 🙂 and \x00 control"]


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_metadata(tok):
    assert tok.vocab_size == 49152
    assert tok.tokens[0] == "<|endoftext|>" and tok.tokens[1] == "<|im_start|>" and tok.tokens[2] == "<|im_end|>"
    assert tok.bos_id == 1 and tok.eos_id == 2


def test_known_tokens(tok):
    v = tok.vocab
    # whole words with the GPT-2 space marker 'Ġ' merge to single tokens
    assert tok.encode("Hello world") == [v["Hello"], v["Ġworld"]]
    assert tok.encode(" the") == [v["Ġthe"]]
    # SmolLM's pre-tokenizer splits every digit on its own (tokenizer.ggml.pre = 'smollm')
    assert tok.encode("2024") == [v["2"], v["0"], v["2"], v["4"]]
    # newline + indentation are byte-level symbols 'Ċ' and 'Ġ'
    assert [tok.tokens[i] for i in tok.encode("a\n b")] == ["a", "Ċ", "Ġb"]


def test_special_tokens(tok):
    text = "<|im_start|>user\nhi<|im_end|>"
    ids = tok.encode(text, special=True)
    assert ids[0] == 1 and ids[-1] == 2
    assert 1 not in tok.encode(text)          # literal text unless asked
    assert tok.decode(ids) == text


def test_bytes_to_unicode_is_a_bijection():
    m = bytes_to_unicode()
    assert len(m) == 256 and len(set(m.values())) == 256


def test_tiny_vocabulary_merges_by_rank():
    b = bytes_to_unicode()
    sp = b[ord(" ")]
    tokens = ["a", "b", "c", sp, "ab", "abc", sp + "a", "bc"]
    tok = BPETokenizer(tokens, ["a b", "ab c", f"{sp} a", "b c"], pre="gpt2")
    assert [tokens[i] for i in tok.encode("abc")] == ["abc"]        # 'a b' (rank 0) before 'b c' (rank 3)
    # lowest rank first: 'a b' (0), then 'ab c' (1); ' a' (2) never gets its chance
    assert [tokens[i] for i in tok.encode(" abc")] == [sp, "abc"]


def test_unknown_symbol_is_a_clear_error():
    tok = BPETokenizer(["a"], [], pre="gpt2")
    with pytest.raises(CodesignError, match="not in the vocabulary"):
        tok.encode("b")
