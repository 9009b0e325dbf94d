"""Multi-card designs (issue 19): tensor / pipeline parallelism, the link, the sweep's card axes,
the DFX validation row and the per-card export configuration."""

import json
from dataclasses import replace

import numpy as np
import pytest

from codesign.cli import main
from codesign.design import Design, Hardware, Parallel, Quant, Workload, load_design
from codesign.devices import default_link, get_device, get_link, list_links
from codesign.errors import CodesignError
from codesign.model import evaluate_design
from codesign.model.parallel import ACT_BYTES, Plan, plan_context, ports_needed, shard_config, split_problems
from codesign.model.power import usd_per_mtoken
from codesign.workload import load_model_config

HW = Hardware(rows=32, cols=128, abuf_depth=65536, weight_channels=28, kv_channels=4, port_bits=256)


def design(model="llama2-13b", wbits=4, tp=1, pp=1, link=None, **kw):
    return Design(model=model, device="u280", quant=Quant(wbits=wbits), hw=kw.pop("hw", HW),
                  parallel=Parallel(devices=tp * pp, tp=tp, pp=pp, link=link), **kw)


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_acceptance_two_u280_feasible_with_link_share_and_one_card_w8_capacity(capsys):
    r = _json(capsys, ["evaluate", "--model", "llama2-13b", "--device", "u280", "--devices", "2", "--tp", "2",
                       "--json"])
    assert r["feasible"] is True and r["devices"] == 2
    pl = r["parallel"]
    assert pl["tp"] == 2 and pl["pp"] == 1 and pl["link"]["name"] == "qsfp28-100gbe"
    assert 0 < pl["link_share_of_token_time"] < 1
    assert pl["link_s_per_token"] == pytest.approx(pl["link_share_of_token_time"] / r["decode_tokens_per_s"])
    assert "modelled only" in pl["modelled_only"]
    one = _json(capsys, ["evaluate", "--model", "llama2-13b", "--device", "u280", "--wbits", "8", "--json"])
    assert one["feasible"] is False
    assert one["violations"] == ["weights + KV cache exceed the off-chip memory capacity"]


def test_link_time_is_the_ring_all_reduce_formula():
    cfg, wl = load_model_config("gpt2-124m"), Workload(prompt=64, generate=64)
    lk = get_link("qsfp28-100gbe")
    ctx = plan_context(cfg, wl, Plan(2, 1, lk))
    hop = lambda b: lk.latency_us * 1e-6 + b / (lk.gbps * 1e9 / 8 * lk.efficiency)  # noqa: E731
    vec = cfg.d_model * ACT_BYTES
    want = (2 * cfg.n_layers + 1) * 2 * hop(vec / 2) + hop(-(-cfg.vocab // 2) * ACT_BYTES)
    assert ctx.decode_s == pytest.approx(want, rel=1e-12)
    # prefill: the same hops with the prompt's rows
    vec_p = 64 * vec
    want_p = (2 * cfg.n_layers + 1) * 2 * hop(vec_p / 2) + hop(64 * -(-cfg.vocab // 2) * ACT_BYTES)
    assert ctx.prefill_s == pytest.approx(want_p, rel=1e-12)


def test_pipeline_adds_only_the_hops_and_every_card_is_paid_for():
    # a model that fits one card: two pipeline stages run the same layers in turn, plus the hops
    one = evaluate_design(design("llama2-7b"))
    pp2 = evaluate_design(design("llama2-7b", pp=2))
    link_s = pp2["parallel"]["link_s_per_token"]
    assert 1 / pp2["decode_tokens_per_s"] == pytest.approx(1 / one["decode_tokens_per_s"] + link_s, rel=1e-9)
    assert pp2["parallel"]["hops_per_decode_step"]["pipeline_hops"] == 1
    # two cards idle and clock their logic: more power; the price of two cards in the cost
    assert pp2["power_w"] > one["power_w"] + get_device("u280").static_w
    assert pp2["usd_per_mtoken"] == pytest.approx(usd_per_mtoken(2 * get_device("u280").price_usd, pp2["power_w"],
                                                                 pp2["decode_tokens_per_s"]), rel=1e-9)
    assert pp2["parallel"]["layers_per_stage"] == 16


def test_tensor_parallel_splits_the_stream_but_not_perfectly():
    one = evaluate_design(design("llama2-7b"))
    tp2 = evaluate_design(design("llama2-7b", tp=2))
    assert one["decode_tokens_per_s"] < tp2["decode_tokens_per_s"] < 2 * one["decode_tokens_per_s"]
    assert tp2["parallel"]["card_shard"] == {"n_heads": 16, "n_kv_heads": 16, "d_ffn": 5504, "vocab": 16000}
    assert tp2["decode_bytes_per_step"] < 0.51 * one["decode_bytes_per_step"]


def test_capacity_is_per_card():
    assert not evaluate_design(design(wbits=8))["feasible"]
    for tp, pp in ((2, 1), (1, 2)):
        r = evaluate_design(design(wbits=8, tp=tp, pp=pp))
        assert r["feasible"], (tp, pp, r["violations"])


def test_a_split_that_does_not_divide_is_infeasible_with_the_reason():
    cfg = load_model_config("llama2-13b")
    assert split_problems(cfg, 3, 1) == ["tp 3 does not divide n_heads 40", "tp 3 does not divide n_kv_heads 40"]
    assert split_problems(cfg, 1, 3) == ["pp 3 does not divide n_layers 40"]
    r = evaluate_design(design(tp=1, pp=3))
    assert not r["feasible"]
    assert "multi-card: pp 3 does not divide n_layers 40" in r["violations"]
    assert "multi-card split: tp or pp does not divide the model (heads, KV heads, FFN width, layers)" in r["violations"]


def test_link_ports_bound_the_plan():
    assert ports_needed(2, 1) == 1 and ports_needed(4, 1) == 2 and ports_needed(4, 2) == 3
    r = evaluate_design(design(tp=4, pp=2))      # QSFP28: two ports per U280
    assert not r["feasible"] and "multi-card: tp 4 x pp 2 needs 3 link ports per card; qsfp28-100gbe has 2" in r["violations"]
    host = evaluate_design(design(tp=4, pp=2, link="pcie-gen3x16-host"))
    assert host["feasible"]
    assert host["parallel"]["link_share_of_token_time"] > r["parallel"]["link_share_of_token_time"]


def test_link_database_sources_and_defaults():
    for lk in list_links():
        for k in ("gbps", "efficiency", "latency_us", "pj_per_bit", "port_w"):
            assert lk.sources.get(k), (lk.name, k)
    assert default_link(get_device("u280")).name == "qsfp28-100gbe"
    assert default_link(get_device("v80")).name == "qsfp56-200gbe"
    with pytest.raises(CodesignError) as e:
        default_link(get_device("kv260"))
    assert e.value.field == "--devices"


def test_design_json_round_trip_and_one_card_unchanged(tmp_path):
    d = design(tp=2, pp=2)
    d.save(tmp_path / "d.json")
    assert json.loads((tmp_path / "d.json").read_text())["parallel"] == {"devices": 4, "tp": 2, "pp": 2, "link": None}
    assert load_design(tmp_path / "d.json").parallel == Parallel(4, 2, 2)
    assert "parallel" not in design().to_dict()
    with pytest.raises(CodesignError) as e:
        Parallel(devices=3, tp=2).validate()
    assert e.value.field == "parallel.devices"
    assert shard_config(load_model_config("llama2-7b"), 1, 32) is load_model_config("llama2-7b")


@pytest.mark.parametrize("argv,field", [
    (["--devices", "3", "--tp", "2"], "--devices"),
    (["--tp", "2", "--link", "nope"], "--link"),
    (["--tp", "2", "--link", "qsfp56-200gbe"], "--link"),
    (["--tp", "0"], "--tp"),
])
def test_cli_errors_name_the_flag(capsys, argv, field):
    assert main(["evaluate", "--model", "llama2-13b", "--device", "u280", *argv]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"error: {field}:" in err[0]


def test_sweep_plan_agrees_with_evaluate():
    from codesign.search.accuracy import AccuracySource
    from codesign.search.constraints import Constraints
    from codesign.search.defaults import default_space
    from codesign.search.engine import Sweeper
    space = default_space(get_device("u280"), {"wbits": [4, 8], "abits": [8], "kvbits": [8], "group": [128],
                                               "rows": [16, 64], "cols": [64, 128], "weight_channels": [28],
                                               "kv_channels": [4], "port_bits": [256], "freq_mhz": [225]})
    sw = Sweeper("llama2-13b", "u280", Workload(), space, Constraints(), AccuracySource(None, "not measured"),
                 parallel=Parallel(devices=2, tp=2))
    cols = sw.evaluate_indices(np.arange(space.size))
    for i in range(space.size):
        q, h = space.point(i)
        pred = evaluate_design(Design("llama2-13b", "u280", Workload(), q, h, parallel=Parallel(devices=2, tp=2)))
        assert bool(cols["feasible"][i]) == pred["feasible"]
        for k in ("decode_tokens_per_s", "power_w", "energy_per_token_j", "usd_per_mtoken", "prefill_latency_s"):
            assert cols[k][i] == pytest.approx(pred[k], rel=2e-6), k


def test_card_axes():
    from codesign.search.cards import auto_cards, parse_cards, plans, verdict
    assert [(p.tp, p.pp) for p in plans(8)] == [(8, 1), (4, 2), (2, 4), (1, 8)]
    dev, wl = get_device("u280"), Workload()
    assert auto_cards(load_model_config("llama2-7b"), dev, wl) == (1,)       # the default sweep stays one card
    assert auto_cards(load_model_config("llama2-13b"), dev, wl) == (1, 2, 4, 8)
    with pytest.raises(CodesignError) as e:
        parse_cards("3", load_model_config("llama2-7b"), dev, wl)
    assert e.value.field == "--cards"
    rows = [{"devices": 1, "tp": 1, "pp": 1, "meets_constraints": 0},
            {"devices": 2, "tp": 2, "pp": 1, "meets_constraints": 5, "best_tokens_per_s": 30.0, "best_j_per_token": 2.0},
            {"devices": 2, "tp": 1, "pp": 2, "meets_constraints": 5, "best_tokens_per_s": 15.0, "best_j_per_token": 3.0}]
    v = verdict(rows)
    assert v["fewest_cards"] == 2 and v["per_card_count"]["1"] is None
    assert (v["per_card_count"]["2"]["tp"], v["per_card_count"]["2"]["pp"]) == (2, 1)


def test_card_plan_and_link_config():
    from codesign.export.cards import MODELLED_ONLY, card_plan, link_config
    d = design(tp=2, pp=2)
    cards = card_plan(d)
    assert [(c["pipeline_stage"], c["tp_rank"]) for c in cards] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert cards[0]["layers"] == [0, 20] and cards[3]["layers"] == [20, 40]
    assert cards[1]["heads"] == [20, 40] and cards[1]["ffn_columns"] == [6912, 13824]
    assert cards[0]["embedding"] and not cards[0]["lm_head"] and cards[3]["lm_head"]
    assert [(c["role"], c["peer"], c["port"]) for c in cards[1]["connections"]] == [
        ("tp ring next", 0, 0), ("pipeline next stage", 3, 1)]
    lc = link_config(d, evaluate_design(d))
    assert lc["link"] == "qsfp28-100gbe" and lc["predicted"]["link_s_per_token"] > 0
    assert lc["modelled_only"] == MODELLED_ONLY and "all-reduce engine" in MODELLED_ONLY


def test_dfx_multi_card_row_is_judged_never_fitted():
    from codesign.model import constants as C
    from codesign.model.calibration import evaluate_grid
    from codesign.model.validation import CASES, TARGETS, WORST_FACTOR, fpga_rows
    multi = [i for i, c in enumerate(CASES) if c.parallel.devices > 1]
    assert multi and all(not CASES[i].fit for i in multi)
    rows = fpga_rows()
    assert not evaluate_grid(CASES).fit_rows[multi].any()          # no fold fits a constant to the row
    assert rows[0]["fit"] == {"LAYER_SYNC_CYCLES": C.LAYER_SYNC_CYCLES,
                              "LOGIC_POWER_CALIBRATION": C.LOGIC_POWER_CALIBRATION}
    mine = [r for r in rows if r.get("devices", 1) > 1]
    assert mine and all(r["calibration"] is False for r in mine)
    for r in mine:
        assert r["feasible"] and r["one_card_predicted"] > 0
        assert r["predicted_loo"] == r["predicted"]                     # out of sample either way
        assert abs(r["error_loo_pct"]) <= TARGETS[r["metric"]]        # inside the fidelity target
        assert max(r["predicted_loo"] / r["published"], r["published"] / r["predicted_loo"]) <= WORST_FACTOR


CARDS_SPACE = """
space:
  wbits: [4, 8]
  abits: [8]
  kvbits: [8]
  group: [128]
  zero_point: [false]
  sparsity: [dense]
  method: [rtn]
  mixed: [0]
  rows: [32]
  cols: [128]
  weight_channels: [28]
  kv_channels: [4]
  port_bits: [256]
  freq_mhz: [225]
"""


def test_sweep_compares_card_counts(tmp_path, capsys):
    sp = tmp_path / "space.yaml"
    sp.write_text(CARDS_SPACE)
    out = tmp_path / "run"
    rc = main(["sweep", "--quiet", "--jobs", "1", "--model", "llama2-13b", "--device", "u280", "--space", str(sp),
               "--max-accuracy-loss-pct", "inf", "--cards", "1,2,8", "--out", str(out)])
    capsys.readouterr()
    assert rc == 0
    c = json.loads((out / "cards.json").read_text())
    plans = {(p["devices"], p["tp"], p["pp"]): p for p in c["plans"]}
    assert set(plans) == {(1, 1, 1), (2, 2, 1), (2, 1, 2), (8, 8, 1), (8, 4, 2), (8, 2, 4), (8, 1, 8)}
    assert plans[(1, 1, 1)]["feasible"] == 1            # W8 does not fit one card, W4 does
    assert plans[(2, 2, 1)]["feasible"] == 2
    assert plans[(8, 4, 2)]["feasible"] == 0            # three link ports on a two-port card
    assert c["fewest_cards"] == 1
    assert (c["per_card_count"]["2"]["tp"], c["per_card_count"]["2"]["pp"]) == (2, 1)
    best = load_design(out / "llama2-13b-u280-tp2pp1" / "best.json")
    assert best.parallel == Parallel(devices=2, tp=2, pp=1)
    assert not (out / "llama2-13b-u280-tp4pp2").exists()    # no point: a row of cards.json, no folder
