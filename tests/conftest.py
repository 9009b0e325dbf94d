"""Test tiers (docs/ARCHITECTURE.md, "Tests"): `make test-fast` deselects `slow`; `make test` runs all.

Besides the tests marked `slow` in their modules, every test that builds a Verilator model is slow
(a build takes 10-70 s on 2 cores): a test whose id or xdist group names Verilator gets the marker
here, so a new Verilator test joins the full tier without anyone remembering to mark it. Tests that
simulate with an HDL simulator are also marked `sim`.
"""

import pytest


def pytest_collection_modifyitems(config, items):
    # tests marked `first` start before all others: a test longer than the rest of the suite's share
    # of a worker (the ECP5 whole-processor bitstream) would otherwise start late and set the wall time
    items.sort(key=lambda it: 0 if it.get_closest_marker("first") else 1)
    for item in items:
        ident = item.nodeid.lower()
        groups = " ".join(str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args).lower()
        if "verilator" in ident or "verilator" in groups:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.sim)
        if "icarus" in ident or "icarus" in groups:
            item.add_marker(pytest.mark.sim)
