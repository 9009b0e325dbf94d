"""Run an exported TCL script under plain ``tclsh`` with every vendor command stubbed.

Vivado/Vitis HLS commands are not available here, so every command Tcl does not know is
caught by ``unknown`` and recorded (name and arguments). Tcl itself still evaluates the
script — variables, control flow, ``expr``, ``source``, ``file join`` — so a syntax error or a
use of an undefined variable fails exactly as it would in the vendor tool. The recorded
sequence lets tests check the part, clock, top name and files the script hands the tools.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import CodesignError

# Vendor commands whose return value a script uses as a handle or a list; the stub returns a
# non-empty token so `[get_ports ap_clk]` style nesting and `if {[llength ...]}` behave.
_STUB = r"""
set ::__cs_log [open [lindex $argv 0] w]
fconfigure $::__cs_log -encoding utf-8
set ::__cs_script [lindex $argv 1]
set argv [lrange $argv 2 end]
set argc [llength $argv]
rename unknown ::__cs_orig_unknown
proc unknown {args} {
    puts $::__cs_log [llength $args]
    foreach a $args {
        puts $::__cs_log [string length $a]
        puts -nonewline $::__cs_log $a
        puts $::__cs_log ""
    }
    flush $::__cs_log
    return "<[lindex $args 0]>"
}
set ::argv0 $::__cs_script
cd [file dirname [file normalize $::__cs_script]]
source [file tail $::__cs_script]
close $::__cs_log
"""


def _parse(text: str) -> list[list[str]]:
    calls, i = [], 0
    while i < len(text):
        nl = text.index("\n", i)
        n = int(text[i:nl])
        i = nl + 1
        args = []
        for _ in range(n):
            nl = text.index("\n", i)
            ln = int(text[i:nl])
            i = nl + 1
            args.append(text[i:i + ln])
            i += ln + 1
        calls.append(args)
    return calls


def run_tcl_stubbed(script: str | Path, args: list[str] | None = None, timeout: float = 60) -> list[list[str]]:
    """Evaluate ``script`` with stubbed vendor commands; return the recorded calls in order."""
    tclsh = shutil.which("tclsh")
    if not tclsh:
        raise CodesignError("tclsh not found on PATH; install the Debian package 'tcl'", field="tclsh")
    script = Path(script).resolve()
    with tempfile.TemporaryDirectory(prefix="cs-tcl-") as tmp:
        stub, log = Path(tmp) / "stub.tcl", Path(tmp) / "calls.log"
        stub.write_text(_STUB)
        proc = subprocess.run([tclsh, str(stub), str(log), str(script), *(args or [])],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise CodesignError(f"tclsh failed on {script.name}: {(proc.stderr or proc.stdout).strip()[:400]}",
                                field=str(script.name))
        return _parse(log.read_text(encoding="utf-8")) if log.exists() else []
