import itertools

import numpy as np
import pytest

from codesign.design import HW_ALLOWED, QUANT_ALLOWED, Hardware, Quant, from_numeric
from codesign.errors import CodesignError
from codesign.search.constraints import Constraints, constraint_masks
from codesign.search.defaults import default_space, default_space_dict
from codesign.search.space import PARAM_NAMES, Space
from codesign.search.spacefile import load_space_file, parse_space_dict


def small_space() -> Space:
    d = {n: [getattr(Quant(), n)] if n in QUANT_ALLOWED else [getattr(Hardware(), n)] for n in PARAM_NAMES}
    d.update(wbits=[2, 4, 8], zero_point=[False, True], rows=[8, 16, 32], freq_mhz=[150, 300])
    return Space.from_mapping(d)


def test_mixed_radix_matches_itertools_product():
    s = small_space()
    grid = list(itertools.product(*[v for _, v in s.values]))
    assert s.size == len(grid) == 36
    p = s.params_range(0, s.size)
    for i, combo in enumerate(grid):
        assert tuple(from_numeric(n, p[n][i]) for n in PARAM_NAMES) == combo
    # any slice is computed from its indices alone
    q = s.params_at(np.array([35, 3, 17]))
    assert [q["rows"][k] for k in range(3)] == [grid[35][PARAM_NAMES.index("rows")],
                                                  grid[3][PARAM_NAMES.index("rows")],
                                                  grid[17][PARAM_NAMES.index("rows")]]
    assert p["zero_point"].dtype == bool
    with pytest.raises(IndexError):
        s.params_at(np.array([36]))


def test_point_is_a_valid_design_dataclass():
    s = small_space()
    q, h = s.point(s.size - 1)
    assert q.validate() and h.validate()
    assert (q.wbits, q.zero_point, h.rows, h.freq_mhz) == (8, True, 32, 300)


def test_huge_space_costs_nothing_until_sliced():
    d = {n: [getattr(Quant(), n)] if n in QUANT_ALLOWED else [getattr(Hardware(), n)] for n in PARAM_NAMES}
    d.update(rows=list(range(1, 1025)), cols=list(range(1, 1025)), freq_mhz=list(range(50, 151)))
    s = Space.from_mapping(d)
    assert s.size == 1024 * 1024 * 101 > 100_000_000
    p = s.params_range(s.size - 3, s.size)
    assert p["rows"].tolist() == [1024] * 3 and p["freq_mhz"].tolist() == [148, 149, 150]


class _Dev:
    kind = "fpga"
    mem_channels = 32
    kernel_mhz = 300
    mem_port_max_bits = 256
    dsp = 9024


def test_default_space_follows_device():
    d = default_space_dict(_Dev())
    # weights on up to all channels but the KV cache's; clock from half the device's kernel clock to it
    # (or all of them with the KV cache interleaved over them: kv_channels 0, unified memory)
    assert d["weight_channels"] == [4, 8, 16, 28, 32] and d["kv_channels"] == [0, 4]
    assert max(d["freq_mhz"]) == 300 and min(d["freq_mhz"]) == 150
    assert d["port_bits"] == [256, 512]
    s = default_space(_Dev(), {"wbits": [4]})
    assert s.as_dict()["wbits"] == [4]

    class _Gpu:
        kind = "gpu"
    g = default_space_dict(_Gpu())
    assert all(len(g[n]) == 1 for n in HW_ALLOWED)


def test_space_file_forms(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("space:\n  wbits: [8, 4]\n  group: 64\n  rows: {min: 8, max: 64, factor: 2}\n"
                 "  freq_mhz: {min: 150, max: 300, step: 50}\n  cols: {values: [16, 32]}\n"
                 "constraints:\n  max_power_w: 75\n  resource_cap: 0.8\n")
    sf = load_space_file(f)
    assert sf.overrides == {"wbits": [4, 8], "group": [64], "rows": [8, 16, 32, 64],
                            "freq_mhz": [150, 200, 250, 300], "cols": [16, 32]}
    assert sf.constraints == Constraints(max_power_w=75.0, resource_cap=0.8)


@pytest.mark.parametrize("text,field", [
    ("space:\n  wbitz: [4]\n", "space.wbitz"),
    ("space:\n  wbits: [5]\n", "space.wbits[0]"),
    ("space:\n  wbits: []\n", "space.wbits"),
    ("space:\n  rows: {min: 64, max: 8}\n", "space.rows"),
    ("space:\n  rows: {min: 8, max: 64, step: 0}\n", "space.rows.step"),
    ("space:\n  rows: {min: 8}\n", "space.rows.max"),
    ("space:\n  rows: {min: 8, max: 16, stride: 2}\n", "space.rows.stride"),
    ("space:\n  zero_point: [maybe]\n", "space.zero_point[0]"),
    ("constraints:\n  resource_cap: 1.5\n", "constraints.resource_cap"),
    ("constraints:\n  max_watts: 5\n", "constraints.max_watts"),
    ("constraints:\n  min_tokens_per_s: fast\n", "constraints.min_tokens_per_s"),
    ("spaces:\n  wbits: [4]\n", "spaces"),
    ("space: [1, 2]\n", "space"),
    ("space:\n  wbits: [4\n", "--space"),
])
def test_malformed_space_file_names_the_key(tmp_path, text, field):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(CodesignError) as e:
        load_space_file(f)
    assert str(e.value).startswith(field + ":"), str(e.value)
    assert "\n" not in str(e.value)


def test_missing_space_file(tmp_path):
    with pytest.raises(CodesignError, match="^--space: file"):
        load_space_file(tmp_path / "nope.yaml")


def test_constraint_masks_and_unmeasured_accuracy():
    cols = {"accuracy_loss_pct": np.array([0.5, 3.0, np.nan]), "decode_tokens_per_s": np.array([10, 20, 30.0]),
            "power_w": np.array([50, 80, 60.0]), "utilization": np.array([0.5, 0.9, 0.95])}
    c = Constraints(max_accuracy_loss_pct=1.0, min_tokens_per_s=15, max_power_w=70, resource_cap=0.92)
    m = constraint_masks(c, cols, accuracy_known=True)
    assert m["max_accuracy_loss_pct"].tolist() == [True, False, False]  # NaN: not shown to meet it
    assert m["min_tokens_per_s"].tolist() == [False, True, True]
    assert m["max_power_w"].tolist() == [True, False, True]
    assert m["resource_cap"].tolist() == [True, True, False]
    assert "max_accuracy_loss_pct" not in constraint_masks(c, cols, accuracy_known=False)
    with pytest.raises(CodesignError, match="^--resource-cap"):
        c.merged(resource_cap=0.0)


def test_empty_mapping_is_not_a_space():
    with pytest.raises(CodesignError, match="^space.rows"):
        parse_space_dict({"space": {"rows": []}})
