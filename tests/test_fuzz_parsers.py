"""Property-based fuzzing of every file a user feeds codesign (issue 20, point 7).

Model config.json, device YAML/JSON, space YAML, design.json and golden-vector manifests: any
input either loads or raises ``CodesignError`` with a one-line message; never another exception,
and a command that refuses its input writes nothing. Inputs are drawn both as arbitrary bytes or
text and as near-valid records with fields dropped, retyped or replaced, which is where loaders
break. Examples are capped so the whole file runs in seconds.
"""

import json
import math
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

from codesign.errors import CodesignError

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FUZZ_SLOW = settings(FUZZ, max_examples=40)

# --- value strategies -------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-3, max_value=300), st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.sampled_from([0, 1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 4096, 1 << 31, 1 << 40]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 1.0, 128.0, 4096.0, -1.0]),
    st.text(max_size=12), st.sampled_from(["", "silu", "gelu", "relu", "fpga", "gpu", "HBM2", "DSP48E2", "x" * 300]),
)
JSON_VALUES = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)), max_leaves=12)
# YAML can also key a mapping by a number, a boolean or null: loaders must not trip on those
YAML_KEYS = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.booleans(), st.none(), st.floats(allow_nan=False))
YAML_VALUES = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(YAML_KEYS, kids, max_size=4)), max_leaves=12)


def mutated(record: dict, keys=st.text(max_size=10), values=JSON_VALUES):
    """A record with some keys dropped, some values replaced, some keys added (recursively one level)."""
    @st.composite
    def strat(draw):
        out = {}
        for k, v in record.items():
            what = draw(st.sampled_from(["keep"] * 6 + ["drop", "replace", "nest"]))
            if what == "keep":
                out[k] = v
            elif what == "replace":
                out[k] = draw(values)
            elif what == "nest" and isinstance(v, dict):
                out[k] = draw(mutated(v, keys, values))
            elif what == "nest":
                out[k] = v
        for _ in range(draw(st.integers(0, 2))):
            out[draw(keys)] = draw(values)
        return out

    return strat()


def event(what: str) -> None:
    if currently_in_test_context():
        _event(what)


def one_change(record: dict, values=JSON_VALUES):
    """A valid record with exactly one key dropped or given another value: inputs near the boundary."""
    keys = sorted(record)

    @st.composite
    def strat(draw):
        k = draw(st.sampled_from(keys))
        out = dict(record)
        if draw(st.integers(0, 3)) == 0:
            del out[k]
        else:
            out[k] = draw(values)
        return out

    return strat()


def one_line_error(e: CodesignError) -> None:
    event("refused")   # --hypothesis-show-statistics: how many inputs load and how many are refused
    text = str(e)
    assert text and "\n" not in text and "\r" not in text, repr(text)


def _write(folder: Path, name: str, data) -> Path:
    p = folder / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return p


def _yaml(obj) -> str:
    return yaml.safe_dump(obj, allow_unicode=True, sort_keys=False)


def _json(obj) -> str:
    return json.dumps(obj, allow_nan=True)


RAW = st.one_of(st.binary(max_size=200), st.text(max_size=200),
                st.sampled_from(["", "null", "[]", "{}", "1e999", "9" * 5000, "[" * 3000, "{\"a\": NaN}",
                                 "- a\n- b\n", "a: &x [*x]\n", "!!python/object:os.system {}\n",
                                 "\ufeff{}", "\xff\xfe{", "a: 1\na: 2\n", "? [a]\n: 1\n"]))


# --- model config.json ------------------------------------------------------------------------

from codesign.workload import load_model_config  # noqa: E402
from codesign.workload.config import ModelConfig  # noqa: E402

HF_LLAMA = {"model_type": "llama", "hidden_size": 256, "num_attention_heads": 8, "num_key_value_heads": 4,
            "intermediate_size": 688, "num_hidden_layers": 4, "vocab_size": 1000,
            "max_position_embeddings": 2048, "hidden_act": "silu", "tie_word_embeddings": False,
            "head_dim": 32, "num_local_experts": 4, "num_experts_per_tok": 2}
HF_GPT2 = {"model_type": "gpt2", "n_embd": 256, "n_head": 8, "n_layer": 4, "vocab_size": 1000, "n_positions": 1024,
           "n_inner": 1024, "activation_function": "gelu_new", "tie_word_embeddings": True}
HF_OPT = {"model_type": "opt", "hidden_size": 256, "num_attention_heads": 8, "num_hidden_layers": 4,
          "ffn_dim": 1024, "vocab_size": 1000, "activation_function": "relu", "word_embed_proj_dim": 256,
          "max_position_embeddings": 2048}
MODEL_TYPES = st.sampled_from(["llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "gpt2", "opt", "bert", None, 3])


def _check_model(path: Path) -> None:
    from codesign.workload.ops import param_counts

    try:
        cfg = load_model_config(str(path))
    except CodesignError as e:
        one_line_error(e)
        return
    event("loads")
    assert isinstance(cfg, ModelConfig)
    counts = param_counts(cfg)      # a config that loads is one the model can use
    assert counts["total"] > 0 and math.isfinite(counts["total"])
    from codesign.design import Design
    from codesign.model import evaluate_design
    try:                            # ... down to a full prediction, or a one-line reason why not
        pred = evaluate_design(Design(model=str(path), device="u280"))
    except CodesignError as e:
        one_line_error(e)
        return
    assert isinstance(pred, dict) and "feasible" in pred


@FUZZ
@given(rec=st.one_of(*(f(r) for r in (HF_LLAMA, HF_GPT2, HF_OPT) for f in (mutated, one_change))), mtype=MODEL_TYPES,
       keep_type=st.booleans())
def test_fuzz_model_config_json(rec, mtype, keep_type):
    if not keep_type:
        rec = {**rec, "model_type": mtype}
    with tempfile.TemporaryDirectory() as d:
        _check_model(_write(Path(d), "config.json", _json(rec)))


@FUZZ
@given(raw=st.one_of(RAW, JSON_VALUES.map(_json)))
def test_fuzz_model_config_raw(raw):
    with tempfile.TemporaryDirectory() as d:
        _check_model(_write(Path(d), "config.json", raw))


# --- device YAML / JSON -----------------------------------------------------------------------

from codesign.devices import get_device  # noqa: E402

FPGA = {"name": "myboard", "kind": "fpga", "part": "xcu280", "dsp_kind": "DSP48E2", "dsp": 9024, "lut": 1303680,
        "ff": 2607360, "bram36": 2016, "uram": 960, "mem_kind": "HBM2", "mem_gb": 8, "mem_channels": 32,
        "mem_bw_gbs": 460, "static_w": 20, "kernel_mhz": 300, "price_usd": 7000, "platform": "x",
        "mem_shared": False, "mem_port_max_bits": 256, "mem_port_mhz": 450, "shell_lut": 0.1, "tdp_w": 225,
        "sources": {"dsp": "datasheet"}}
GPU = {"name": "mygpu", "kind": "gpu", "mem_kind": "HBM3", "mem_gb": 80, "mem_bw_gbs": 3350,
       "peak_fp16_tflops": 989, "peak_int8_tops": 1979, "tdp_w": 700, "idle_w": 70, "price_usd": 30000}


def _check_device(path: Path) -> None:
    from codesign.search.defaults import default_space

    try:
        dev = get_device(str(path))
    except CodesignError as e:
        one_line_error(e)
        return
    event("loads")
    for v in vars(dev).values():
        if isinstance(v, float):
            assert math.isfinite(v), dev
    if dev.kind == "fpga":   # a device that loads gives a search space, or says why not
        try:
            assert default_space(dev).size >= 1
        except CodesignError as e:
            one_line_error(e)


@FUZZ
@given(rec=st.one_of(mutated(FPGA, keys=YAML_KEYS, values=YAML_VALUES), mutated(GPU, keys=YAML_KEYS, values=YAML_VALUES),
                     one_change(FPGA, YAML_VALUES), one_change(GPU, YAML_VALUES)),
       as_json=st.booleans())
def test_fuzz_device_file(rec, as_json):
    with tempfile.TemporaryDirectory() as d:
        if as_json:
            rec = {str(k): v for k, v in rec.items()}
            path = _write(Path(d), "dev.json", _json(rec))
        else:
            path = _write(Path(d), "dev.yaml", _yaml(rec))
        _check_device(path)


@FUZZ
@given(raw=st.one_of(RAW, YAML_VALUES.map(_yaml)), suffix=st.sampled_from([".yaml", ".json", ".yml"]))
def test_fuzz_device_file_raw(raw, suffix):
    with tempfile.TemporaryDirectory() as d:
        _check_device(_write(Path(d), f"dev{suffix}", raw))


# --- space YAML -------------------------------------------------------------------------------

from codesign.search.spacefile import load_space_file  # noqa: E402

SPACE = {"space": {"wbits": [3, 4, 8], "group": 128, "rows": {"min": 8, "max": 128, "factor": 2},
                   "freq_mhz": {"min": 150, "max": 300, "step": 50}, "cols": {"values": [16, 32]},
                   "zero_point": [False, True]},
         "constraints": {"max_accuracy_loss_pct": 2.0, "min_tokens_per_s": 5, "max_power_w": 75,
                         "resource_cap": 0.8}}


def _check_space(path: Path) -> None:
    from codesign.devices import get_device as dev
    from codesign.search.defaults import default_space

    try:
        sf = load_space_file(path)
    except CodesignError as e:
        one_line_error(e)
        return
    event("loads")
    try:   # a space file that loads gives a space on a real device, or says why not
        assert default_space(dev("u280"), sf.overrides).size >= 1
    except CodesignError as e:
        one_line_error(e)


@FUZZ
@given(rec=st.one_of(mutated(SPACE, keys=YAML_KEYS, values=YAML_VALUES),
                    one_change(SPACE["space"], YAML_VALUES).map(lambda sp: {**SPACE, "space": sp}),
                    one_change(SPACE["constraints"], YAML_VALUES).map(lambda c: {**SPACE, "constraints": c})))
def test_fuzz_space_file(rec):
    with tempfile.TemporaryDirectory() as d:
        _check_space(_write(Path(d), "space.yaml", _yaml(rec)))


@FUZZ
@given(raw=st.one_of(RAW, YAML_VALUES.map(_yaml)))
def test_fuzz_space_file_raw(raw):
    with tempfile.TemporaryDirectory() as d:
        _check_space(_write(Path(d), "space.yaml", raw))


# --- design.json ------------------------------------------------------------------------------

from codesign.design import Design, load_design  # noqa: E402

DESIGN = Design(model="smollm2-135m", device="u280").to_dict()
DESIGN["prediction"] = {"energy_per_token_j": 1.0}


def _check_design(path: Path):
    try:
        d = load_design(path)
    except CodesignError as e:
        one_line_error(e)
        return None
    event("loads")
    assert isinstance(d, Design)
    return d


@FUZZ
@given(rec=st.one_of(mutated(DESIGN), *(one_change(DESIGN[k]).map(lambda v, k=k: {**DESIGN, k: v})
                                         for k in ("workload", "quant", "hw"))))
def test_fuzz_design_json(rec):
    with tempfile.TemporaryDirectory() as d:
        _check_design(_write(Path(d), "design.json", _json(rec)))


@FUZZ
@given(raw=st.one_of(RAW, JSON_VALUES.map(_json)))
def test_fuzz_design_json_raw(raw):
    with tempfile.TemporaryDirectory() as d:
        _check_design(_write(Path(d), "design.json", raw))


@FUZZ_SLOW
@given(rec=mutated(DESIGN))
def test_fuzz_design_json_through_a_command_writes_nothing_on_error(rec):
    # the loader's verdict carries through a command: exit 2 with one line and no output file
    import contextlib
    import io

    from codesign.cli import main

    with tempfile.TemporaryDirectory() as d:
        src = _write(Path(d), "design.json", _json(rec))
        out = Path(d) / "prog.json"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["compile", "--design", str(src), "--out", str(out)])
        if rc == 0:
            assert out.is_file()
        else:
            assert rc == 2 and err.getvalue().count("\n") == 1, err.getvalue()
            assert sorted(p.name for p in Path(d).iterdir()) == ["design.json"]


# --- golden-vector manifests ------------------------------------------------------------------

@pytest.fixture(scope="module")
def vector_folder(tmp_path_factory):
    from codesign.cli import main

    root = tmp_path_factory.mktemp("vec")
    design = root / "design.json"
    Design(model="smollm2-135m", device="u280").save(design)
    out = root / "v"
    assert main(["vectors", "--design", str(design), "--out", str(out), "--context", "4",
                 "--random", "d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=48"]) == 0
    return out


def _check_vectors(folder: Path) -> None:
    import contextlib
    import io

    from codesign.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["vectors", "--check", str(folder)])
    assert rc in (0, 2), rc
    event("loads" if rc == 0 else "refused")
    if rc == 2:
        assert err.getvalue().count("\n") == 1, err.getvalue()


def _copy(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst)


@FUZZ_SLOW
@given(data=st.data())
def test_fuzz_vector_manifest(vector_folder, data):
    manifest = json.loads((vector_folder / "manifest.json").read_text())
    small = {k: v for k, v in manifest.items() if k not in ("design", "model", "regions", "buffers")}
    rec = data.draw(mutated(small))
    for k in ("design", "model", "regions", "buffers"):
        rec.setdefault(k, manifest[k])
    if data.draw(st.booleans()) and isinstance(rec.get("files"), dict):   # names that point outside
        rec["files"][data.draw(st.sampled_from(["../x", "/etc/hostname", "a/../../b", "", ".", "expected"]))] = \
            {"bytes": 1, "sha256": "0" * 64}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "v"
        _copy(vector_folder, folder)
        (folder / "manifest.json").write_text(_json(rec))
        _check_vectors(folder)


@FUZZ
@given(raw=st.one_of(RAW, JSON_VALUES.map(_json)))
def test_fuzz_vector_manifest_raw(vector_folder, raw):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "v"
        folder.mkdir()
        _write(folder, "manifest.json", raw)
        _check_vectors(folder)


def test_fuzz_vector_folder_itself_checks(vector_folder):
    # the unmutated folder verifies: the fuzzing above starts from a valid input
    _check_vectors(vector_folder)
    from codesign.vectors import read_vectors
    assert read_vectors(vector_folder).manifest["schema"]
