"""The kernel's real interface, read from the sources the project ships.

The generators own the interface (gen/hls, gen/rtl); the connectivity file, the host program and the
packaging TCL (export) may only name ports that exist.
Rather than trusting a table, the exporter parses them: the ``#pragma HLS INTERFACE`` lines
and the top function's signature from the HLS kernel, and the port list of the RTL top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CodesignError


@dataclass(frozen=True)
class KernelArg:
    name: str
    ctype: str        # C type as written in the signature
    kind: str         # "m_axi" or "scalar"
    bundle: str       # m_axi bundle name ("" for scalars)

    @property
    def port(self) -> str:
        """The kernel port Vitis creates for this argument (m_axi_<bundle> or s_axi_control)."""
        return f"m_axi_{self.bundle}" if self.kind == "m_axi" else "s_axi_control"


_PRAGMA = re.compile(r"#pragma\s+HLS\s+INTERFACE\s+([^\n]*)", re.IGNORECASE)
_KV = re.compile(r"(\w+)\s*=\s*([\w.]+)")


def _strip_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def hls_kernel_args(sources: list[Path], top: str) -> list[KernelArg]:
    """Arguments of the HLS top function, in signature order, with their interface kind."""
    text = "\n".join(_strip_comments(Path(p).read_text()) for p in sources)
    m = re.search(r"(?:extern\s+\"C\"\s*\{?\s*)?\bvoid\s+" + re.escape(top) + r"\s*\(([^)]*)\)\s*\{", text)
    if not m:
        raise CodesignError(f"top function '{top}' not found in the HLS sources", field="hls.top")
    params = [p.strip() for p in m.group(1).split(",") if p.strip()]
    body = text[m.end():]
    pragmas: dict[str, dict[str, str]] = {}
    for pm in _PRAGMA.finditer(body):
        words = pm.group(1)
        kv = dict((k.lower(), v) for k, v in _KV.findall(words))
        mode = kv.get("mode") or words.split()[0].lower()
        if "port" in kv:
            # A pointer carries two pragmas: m_axi (data) and s_axilite (its base address); m_axi wins.
            if pragmas.get(kv["port"], {}).get("mode") == "m_axi":
                continue
            pragmas[kv["port"]] = {"mode": mode.lower(), "bundle": kv.get("bundle", "gmem")}
    args = []
    for p in params:
        pm = re.match(r"(.*?)(\w+)\s*(\[[^\]]*\])?$", p)
        if not pm:
            raise CodesignError(f"cannot parse parameter {p!r} of '{top}'", field="hls.top")
        ctype, name = pm.group(1).strip(), pm.group(2)
        info = pragmas.get(name)
        if info is None:
            raise CodesignError(f"argument '{name}' of '{top}' has no INTERFACE pragma", field="hls.top")
        if info["mode"] == "m_axi":
            args.append(KernelArg(name, ctype, "m_axi", info["bundle"]))
        elif info["mode"] == "s_axilite":
            args.append(KernelArg(name, ctype, "scalar", ""))
        else:
            raise CodesignError(f"argument '{name}' uses interface mode '{info['mode']}'; "
                                "the exporter supports m_axi and s_axilite", field="hls.top")
    if "return" not in pragmas or pragmas["return"]["mode"] != "s_axilite":
        raise CodesignError(f"'{top}' lacks '#pragma HLS INTERFACE s_axilite port=return'", field="hls.top")
    return args


_PORT = re.compile(r"\b(input|output|inout)\b\s*(?:wire|reg|logic)?\s*(?:signed\s*)?(\[[^\]]*\])?\s*(\w+)")


def rtl_top_ports(path: Path, top: str) -> list[tuple[str, str, str]]:
    """(direction, range, name) of every port of module ``top`` (ANSI or non-ANSI headers)."""
    text = _strip_comments(Path(path).read_text())
    m = re.search(r"\bmodule\s+" + re.escape(top) + r"\b(.*?)\bendmodule\b", text, flags=re.S)
    if not m:
        raise CodesignError(f"module '{top}' not found in {Path(path).name}", field="rtl.top")
    return [(d, r or "", n) for d, r, n in _PORT.findall(m.group(1))]


def rtl_axi_bundles(ports: list[tuple[str, str, str]]) -> list[str]:
    """m_axi bundle names of an RTL top (ports named m_axi_<bundle>_<CHANNEL><SIGNAL>)."""
    bundles = []
    for _, _, name in ports:
        m = re.match(r"m_axi_(\w+?)_(AW|AR|W|R|B)(VALID|READY|ADDR|DATA|LAST|RESP|LEN|SIZE|BURST|STRB|ID)$",
                     name, flags=re.IGNORECASE)
        if m and m.group(1) not in bundles:
            bundles.append(m.group(1))
    return bundles
