"""The RTL's instruction decode comes from codesign.isa: hw/rtl/codesign_isa.vh is generated
(codesign.gen.rtl.isa) and committed; these tests fail when the committed file differs from the
generator's output, when an RTL source copies an opcode or a field slice by hand, or when the
values a simulator reads from the include differ from codesign.isa's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from codesign.gen.rtl import isa
from codesign.isa.encoding import WORDS
from codesign.isa.instr import FUNCS, OPCODES

ROOT = Path(__file__).resolve().parents[1]
RTL = ROOT / "hw" / "rtl"


def rtl_sources() -> list[Path]:
    return sorted(p for p in RTL.rglob("*.v"))


def test_committed_include_is_the_generators_output():
    committed = isa.INCLUDE_PATH.read_text()
    assert committed == isa.isa_include(), (
        f"{isa.INCLUDE_PATH.relative_to(ROOT)} differs from codesign.gen.rtl.isa.isa_include(): "
        "regenerate it with `python -m codesign.gen.rtl.isa`")


def test_check_command_detects_a_hand_edit(tmp_path):
    copy = tmp_path / isa.INCLUDE_NAME
    copy.write_text(isa.isa_include())
    ok = subprocess.run([sys.executable, "-m", "codesign.gen.rtl.isa", "--check", "--out", str(copy)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    copy.write_text(copy.read_text().replace("OP_GEMV    = 2;", "OP_GEMV    = 3;"))
    bad = subprocess.run([sys.executable, "-m", "codesign.gen.rtl.isa", "--check", "--out", str(copy)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "python -m codesign.gen.rtl.isa" in bad.stderr
    subprocess.run([sys.executable, "-m", "codesign.gen.rtl.isa", "--out", str(copy)], check=True,
                   capture_output=True)
    assert copy.read_text() == isa.isa_include()


def test_include_follows_the_encoding_tables():
    text = isa.isa_include()
    for i, op in enumerate(OPCODES):
        assert re.search(rf"localparam \[F_OP_W-1:0\] OP_{op} += {i};", text), op
    for op, variants in FUNCS.items():
        for var, val in variants.items():
            assert f"FUNC_{op}_{var.upper()} = {val};" in text
    for word, lsb, width, name, signed in WORDS:
        n = name.upper()
        assert re.search(rf"F_{n}_LSB += +{32 * word + lsb}, F_{n}_W += +{width}, F_{n}_SIGNED = {int(signed)};",
                         text), name


def test_no_rtl_source_keeps_a_hand_copy():
    """Opcode values and instruction-field slices live in the generated include only."""
    for src in rtl_sources():
        text = src.read_text()
        assert not re.search(r"localparam[^;]*\bOP_(" + "|".join(OPCODES) + r")\b\s*=", text), \
            f"{src.name} defines an opcode by hand (use `include \"{isa.INCLUDE_NAME}\")"
        assert not re.search(r"\bir\s*\[\s*\d+\s*:\s*\d+\s*\]", text), \
            f"{src.name} slices the instruction register with literal bits (use F_<FIELD>_LSB/_W)"
    users = [s.name for s in rtl_sources() if f'`include "{isa.INCLUDE_NAME}"' in s.read_text()]
    assert "codesign_core.v" in users, users


def test_decoder_declares_the_signed_fields_signed():
    """Signedness is the one field property Verilog cannot take from a localparam: every field the
    encoding marks signed is declared `signed` in the decoder's ports and in the core's wires that
    take them, and no other field is; the decoder decodes every field but layer_op (informative)."""
    signed = {name.upper(): s for _, _, _, name, s in WORDS}
    for f in ("codesign_decode.v", "codesign_core.v"):
        decls = re.findall(r"wire\s+(signed\s+)?\[F_(\w+?)_W\b", (RTL / f).read_text())
        assert decls, f
        wrong = sorted({name for sig, name in decls if bool(sig) != signed[name]})
        assert not wrong, f"{f}: signedness differs from codesign.isa.encoding.WORDS for {wrong}"
        if f == "codesign_decode.v":
            # the 64-bit address is {addr_hi, addr}: declared with F_ADDR_HI_W first
            assert {name for _, name in decls} == set(signed) - {"LAYER_OP", "ADDR"}


def test_only_the_decoder_slices_the_instruction():
    for src in rtl_sources():
        if src.name != "codesign_decode.v":
            assert not re.search(r"\bir\s*\[", src.read_text()), f"{src.name} slices ir: use codesign_decode"


@pytest.mark.sim
def test_simulator_reads_the_encoding_values(tmp_path):
    """Icarus elaborates a module that includes the committed header and prints every value."""
    lines = [f'$display("OP {op} %0d", OP_{op});' for op in OPCODES]
    lines += [f'$display("F {name} %0d %0d %0d", F_{name.upper()}_LSB, F_{name.upper()}_W, '
              f'F_{name.upper()}_SIGNED);' for *_, name, _ in WORDS]
    lines += [f'$display("N {op} %0s", isa_op_name(OP_{op}));' for op in OPCODES]
    lines += ['$display("B %0d %0d", ISA_BITS, ISA_NUM_OPCODES);']
    tb = tmp_path / "tb.v"
    tb.write_text("module tb;\n`include \"" + isa.INCLUDE_NAME + "\"\ninitial begin\n"
                  + "\n".join(lines) + "\n$finish;\nend\nendmodule\n")
    subprocess.run(["iverilog", "-g2005", "-I", str(RTL), "-o", str(tmp_path / "tb.vvp"), str(tb)], check=True)
    out = subprocess.run(["vvp", "-n", str(tmp_path / "tb.vvp")], capture_output=True, text=True, check=True).stdout
    got = {ln.rstrip() for ln in out.split("\n")}   # isa_op_name pads to 8 characters
    for i, op in enumerate(OPCODES):
        assert f"OP {op} {i}" in got and f"N {op} {op}" in got
    for word, lsb, width, name, signed in WORDS:
        assert f"F {name} {32 * word + lsb} {width} {int(signed)}" in got
    from codesign.isa.encoding import WORDS_PER_INSTR
    assert f"B {32 * WORDS_PER_INSTR} {len(OPCODES)}" in got
