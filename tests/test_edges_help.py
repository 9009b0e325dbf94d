"""--help of every command: each flag states its default once, in one style (issue 20, point 8)."""

import re

import pytest

from codesign.cli import build_parser


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices


COMMANDS = _commands()


def _rendered(parser):
    """(flag, help text as printed) for every option of a command."""
    fmt = parser._get_formatter()
    return [(a.option_strings[0], " ".join(fmt._expand_help(a).split()))
            for a in parser._actions if a.option_strings and a.help and a.dest != "help"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_flag_states_its_default_once_in_one_style(name):
    parser = COMMANDS[name]
    for flag, text in _rendered(parser):
        where = f"{name} {flag}: {text!r}"
        assert text.count("default") <= 1, where                      # never "(default: X) (default: None)"
        assert "(default: None)" not in text and "(default: False)" not in text, where
        assert not re.search(r"None = |; default:|\(default [^:]|default\)", text), where   # one form: "(default: X)"
        assert "%%" not in text and not text.endswith("."), where
        first = text.split()[0]   # lower case, except an acronym or a name (YAML, GPU, SmoothQuant)
        assert (first[0].islower() or not first[0].isalpha() or first.rstrip(":,").isupper()
                or any(c.isupper() for c in first[1:])), where
    # and the printed page as a whole: no default shown twice for one flag
    page = " ".join(parser.format_help().split())
    assert "(default: None)" not in page and not re.search(r"\(default: [^)]*\) \(default:", page)


def test_a_flag_with_a_value_default_shows_it():
    rendered = dict(_rendered(COMMANDS["sweep"]))
    assert rendered["--prompt"].endswith("(default: 512)")
    assert rendered["--context"] == "decode context length (default: prompt + generate/2)"
    assert "(default: anchor, a policy;" in rendered["--max-accuracy-loss-pct"]
    assert "%" in rendered["--max-accuracy-loss-pct"] and "%%" not in rendered["--max-accuracy-loss-pct"]
    assert "default" not in rendered["--force"]                        # a switch has no default to show


def test_chunk_help_matches_the_runner():
    from codesign.search.runner import DEFAULT_CHUNK

    assert f"(default: {DEFAULT_CHUNK})" in dict(_rendered(COMMANDS["sweep"]))["--chunk"]
