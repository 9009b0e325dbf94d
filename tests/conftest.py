"""Test tiers (docs/ARCHITECTURE.md, "Tests"): `make test-fast` deselects `slow`; `make test` runs all.

Besides the tests marked `slow` in their modules, every test that builds a Verilator model is slow
(a build takes 10-70 s on 2 cores): a test whose id or xdist group names Verilator gets the marker
here, so a new Verilator test joins the full tier without anyone remembering to mark it. Tests that
simulate with an HDL simulator are also marked `sim`.
"""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        ident = item.nodeid.lower()
        groups = " ".join(str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args).lower()
        if "verilator" in ident or "verilator" in groups:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.sim)
        if "icarus" in ident or "icarus" in groups:
            item.add_marker(pytest.mark.sim)
