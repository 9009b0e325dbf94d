import numpy as np

from codesign.search import csvfast


def test_floats_match_percent_g_8():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000) * 10.0 ** rng.integers(-12, 12, 20000)
    x[:50] = rng.integers(-10**6, 10**6, 50)                     # integers
    x[50:100] = rng.integers(1, 100, 50) * 10.0 ** rng.integers(-6, 9, 50)  # trailing zeros
    x[100:110] = 10.0 ** rng.integers(-300, 300, 10)             # 3-digit exponents
    x[110:115] = [1e-4, 9.99999999e-5, 0.1, 1e7, 99999999.5]     # notation boundaries, rounding up
    out = csvfast.format_csv_rows([("float", x, None)]).decode().split("\n")[:-1]
    assert len(out) == len(x)
    mismatch = [(v, o) for v, o in zip(x.tolist(), out) if o != "%.8g" % v]
    # ties in the 9th digit may round differently from printf: never more than 1 unit in the 8th digit
    assert len(mismatch) <= 5, mismatch[:5]
    for v, o in mismatch:
        assert abs(float(o) - v) <= abs(v) * 1.01e-7


def test_specials_ints_bools_labels():
    x = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, -1.5])
    assert csvfast.format_csv_rows([("float", x, None)]).decode().split("\n")[:-1] == \
        ["0", "0", "", "inf", "-inf", "-1.5"]
    i = np.array([0, 7, -12, 10**12, 999])
    rows = csvfast.format_csv_rows([("int", i, None), ("bool", i > 0, None),
                                    ("labels", np.array([0, 1, 0, 2, 1]), ["", 'a,"b"', "c"])]).decode()
    assert rows.split("\n")[:-1] == ["0,false,", '7,true,"a,""b"""', "-12,false,",
                                     "1000000000000,true,c", '999,true,"a,""b"""']


def test_blocks_do_not_change_bytes(monkeypatch):
    rng = np.random.default_rng(1)
    cols = [("int", rng.integers(0, 100, 1000), None), ("float", rng.random(1000), None)]
    whole = csvfast.format_csv_rows(cols)
    monkeypatch.setattr(csvfast, "BLOCK", 7)
    assert csvfast.format_csv_rows(cols) == whole


def test_small_range_ints_formatted_per_value_give_the_same_text():
    rng = np.random.default_rng(2)
    n = 4 * csvfast._SMALL_RANGE + 10          # large enough for the per-value path
    for x in (rng.integers(-50, 3000, n), rng.choice([8, 16, 1024], n), np.full(n, -7)):
        out = csvfast.format_csv_rows([("int", x, None)]).decode().split("\n")[:-1]
        assert out == [str(v) for v in x.tolist()]
