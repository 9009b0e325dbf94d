"""Device database: every issue-listed board/GPU present, every figure sourced, user files checked."""

import json

import pytest

from codesign.devices import FpgaDevice, GpuDevice, get_device, list_devices
from codesign.errors import CodesignError

FPGAS = ["u280", "u55c", "u250", "v80", "vck5000", "vhk158", "vcu128", "zcu102", "kv260"]
GPUS = ["v100s", "a100-80gb", "h100-sxm", "l4", "rtx4090"]


@pytest.mark.parametrize("name", FPGAS)
def test_fpga_entries_have_sourced_figures(name):
    d = get_device(name)
    assert isinstance(d, FpgaDevice)
    assert d.dsp_kind in ("DSP48E2", "DSP58") and d.dsp > 0 and d.lut > 0 and d.mem_bw_gbs > 0
    for topic in ("part", "resources", "mem", "static_w", "kernel_mhz", "price_usd"):
        assert d.sources.get(topic), (name, topic)


@pytest.mark.parametrize("name", GPUS)
def test_gpu_entries_have_sourced_figures(name):
    d = get_device(name)
    assert isinstance(d, GpuDevice)
    for f in ("mem_bw_gbs", "peak_fp16_tflops", "peak_int8_tops", "tdp_w", "idle_w", "price_usd"):
        assert getattr(d, f) > 0 and d.sources.get(f), (name, f)
    assert d.idle_w < d.tdp_w


def test_u280_figures_from_ug1393():
    d = get_device("U280")
    assert d.mem_channels == 32 and d.channel_bw_gbs == pytest.approx(14.375)
    assert d.available("lut") < d.lut and d.available("uram") == d.uram


def test_list_and_alias():
    names = {d.name for d in list_devices()}
    assert set(FPGAS + GPUS) <= names
    assert get_device("a100").name == "a100-80gb"


def _rec():
    return {"kind": "fpga", "name": "myboard", "part": "xcku5p-ffvb676-2-e", "dsp_kind": "DSP48E2",
            "dsp": 1824, "lut": 216960, "ff": 433920, "bram36": 480, "uram": 64, "mem_kind": "DDR4",
            "mem_gb": 4, "mem_channels": 1, "mem_bw_gbs": 19.2, "static_w": 5.0, "kernel_mhz": 250,
            "price_usd": 2000, "sources": {"resources": "DS890"}}


def test_user_device_yaml_and_json(tmp_path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps(_rec()))
    assert get_device(str(p)).dsp == 1824
    y = tmp_path / "b.yaml"
    y.write_text("kind: gpu\nname: g\nmem_kind: GDDR6\nmem_gb: 8\nmem_bw_gbs: 448\npeak_fp16_tflops: 20\n"
                 "peak_int8_tops: 80\ntdp_w: 150\nidle_w: 10\nprice_usd: 400\n")
    assert get_device(str(y)).mem_bw_gbs == 448


@pytest.mark.parametrize("mutate,field", [
    (lambda r: r.pop("dsp"), "b.json.dsp"),
    (lambda r: r.update(dsp=-3), "b.json.dsp"),
    (lambda r: r.update(dsp_kind="DSP99"), "b.json.dsp_kind"),
    (lambda r: r.update(mem_kind="SRAM"), "b.json.mem_kind"),
    (lambda r: r.update(shell_lut=1.5), "b.json.shell_lut"),
    (lambda r: r.update(colour="red"), "b.json.colour"),
])
def test_malformed_device_file_names_the_field(tmp_path, mutate, field):
    r = _rec()
    mutate(r)
    p = tmp_path / "b.json"
    p.write_text(json.dumps(r))
    with pytest.raises(CodesignError) as e:
        get_device(str(p))
    assert e.value.field == field


def test_unknown_device_and_bad_yaml(tmp_path):
    with pytest.raises(CodesignError, match="unknown device"):
        get_device("u999")
    p = tmp_path / "x.yaml"
    p.write_text("a: [unclosed\n")
    with pytest.raises(CodesignError, match="not valid YAML"):
        get_device(str(p))
