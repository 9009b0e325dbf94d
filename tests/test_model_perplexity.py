"""Hardware perplexity (issue 17): the golden integer pipeline (every layer and the final RMSNorm in
the processor's arithmetic, bit-exact with the instruction stream) scores the accuracy table's text;
for two table entries (W4 and W8, A8 KV8 g32, RTN, symmetric) its NLL of a window equals the table's
NLL of that window within the row's bootstrap half-width (as nats per window) widened by the
emulation's own float-rounding spread there (codesign.vectors.hw_perplexity).

One window per entry (a 256-token prefill through 30 layers in numpy): the cheapest comparison that
is still a real one, since the table stores every window's NLL."""

from __future__ import annotations

import json

import pytest

from codesign.design import Quant
from codesign.quant.accuracy_table import packaged_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    from codesign.vectors.model_run import real_model
    return real_model("smollm2-135m")


@pytest.mark.parametrize("wbits", [4, 8])
def test_hardware_loss_within_table_interval(smollm2, wbits):
    from codesign.vectors.hw_perplexity import compare

    table = json.loads(packaged_path("smollm2-135m").read_text())
    res = compare(smollm2, table, Quant(wbits=wbits, abits=8, kvbits=8, group=32), [0])
    w = res["per_window"][0]
    assert res["within"], res
    # a real comparison: the tolerance stays well below the quantization's own cost on the window
    assert w["tolerance"] < 0.5 * (w["table"] - res["reference_nll"][0]) or wbits == 8, res
    assert abs(w["hardware"] - w["table"]) < 0.01 * w["table"], res
    assert w["hardware"] > res["reference_nll"][0]
