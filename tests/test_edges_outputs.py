"""Unwritable or odd output paths: one line naming the flag, exit 2, nothing written; ``--force``
replaces only a folder codesign wrote (issue 20, point 2). Every command goes through
``codesign.fsutil``, so each kind of path is tried on every command that writes a folder or a file.
"""

import json
import os
from pathlib import Path

import pytest

from codesign.cli import main
from codesign.errors import CodesignError
from codesign.fsutil import MARKER, atomic_output_dir, atomic_write_text, check_output_dir

SPACE = ("space:\n  wbits: [4, 8]\n  abits: [8]\n  kvbits: [8]\n  group: [128]\n  zero_point: [false]\n"
         "  rows: [16]\n  cols: [64]\n  weight_channels: [16]\n  kv_channels: [2]\n  port_bits: [512]\n"
         "  freq_mhz: [225]\n")
RANDOM = "d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96"


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    root = tmp_path_factory.mktemp("design")
    p = root / "design.json"
    assert main(["evaluate", "--model", "llama2-7b", "--device", "u280", "--wbits", "4", "--abits", "8",
                 "--save", str(p)]) == 0
    return p


def _folder_commands(design, tmp_path):
    space = tmp_path.parent / f"{tmp_path.name}-space.yaml"
    space.write_text(SPACE)
    return {
        "sweep": ["sweep", "--quiet", "--jobs", "1", "--space", str(space)],
        "compare": ["compare", "--design", str(design), "--gpu", "a100"],
        "export": ["export", "--design", str(design), "--board", "u280"],
        "vectors": ["vectors", "--design", str(design), "--random", RANDOM, "--context", "4"],
    }


def _file_commands(design):
    return {
        "compile": (["compile", "--design", str(design)], "--out", ".json"),
        "evaluate": (["evaluate", "--model", "llama2-7b", "--device", "u280", "--wbits", "4", "--abits", "8"],
                     "--save", ".json"),
    }


def _bad_paths(tmp_path):
    (tmp_path / "a-file").write_text("user data\n")
    paths = {"parent-is-a-file": tmp_path / "a-file" / "x", "grandparent-is-a-file": tmp_path / "a-file" / "y" / "z"}
    for special in ("/proc", "/sys"):
        if Path(special).is_dir():
            paths[special] = Path(special) / "codesign-x"
    return paths


def _one_line(err):
    return err.count("\n") == 1 and "Traceback" not in err


def _listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("cmd", ["sweep", "compare", "export", "vectors"])
def test_unwritable_out_folder_is_one_line_exit_2(cmd, design, tmp_path, capsys):
    args = _folder_commands(design, tmp_path)[cmd]
    paths = _bad_paths(tmp_path)
    before = _listing(tmp_path)
    for what, out in paths.items():
        rc = main(args + ["--out", str(out)])
        err = capsys.readouterr().err
        assert rc == 2 and _one_line(err), (what, err)
        assert err.startswith(f"codesign {cmd}: error: --out: cannot create '{out}'"), (what, err)
        if "file" in what:
            assert f"'{tmp_path / 'a-file'}' is a file, not a folder" in err
    assert _listing(tmp_path) == before   # nothing written, no staging folder left
    assert (tmp_path / "a-file").read_text() == "user data\n"


@pytest.mark.parametrize("cmd", ["compile", "evaluate"])
def test_unwritable_out_file_is_one_line_exit_2(cmd, design, tmp_path, capsys):
    args, flag, ext = _file_commands(design)[cmd]
    paths = _bad_paths(tmp_path)
    before = _listing(tmp_path)
    for what, out in paths.items():
        rc = main(args + [flag, f"{out}{ext}"])
        err = capsys.readouterr().err
        assert rc == 2 and _one_line(err), (what, err)
        assert f"error: {flag}: cannot write '{out}{ext}'" in err and ".tmp" not in err, (what, err)
    # a folder where a file is asked for
    (tmp_path / "folder.json").mkdir()
    rc = main(args + [flag, str(tmp_path / "folder.json"), "--force"] if cmd == "compile"
              else args + [flag, str(tmp_path / "folder.json")])
    err = capsys.readouterr().err
    assert rc == 2 and _one_line(err) and "is a folder" in err, err
    assert _listing(tmp_path) == sorted(before + ["folder.json"])


@pytest.mark.parametrize("cmd", ["sweep", "compare", pytest.param("export", marks=pytest.mark.slow), "vectors"])
def test_force_replaces_only_a_folder_codesign_wrote(cmd, design, tmp_path, capsys):
    args = _folder_commands(design, tmp_path)[cmd]
    a_file = tmp_path / "a-file"
    a_file.write_text("user data\n")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me\n")
    for target, what in ((a_file, "is a file, not a folder"), (foreign, "is not a folder codesign wrote")):
        for force in ([], ["--force"]):
            rc = main(args + ["--out", str(target)] + force)
            err = capsys.readouterr().err
            assert rc == 2 and _one_line(err) and "--out" in err, err
            assert ("already exists" in err) if not force else (what in err), err
    assert a_file.read_text() == "user data\n" and _listing(foreign) == ["notes.txt"]
    # what codesign wrote carries the marker; --force replaces that folder, and an empty one
    out = tmp_path / "out"
    assert main(args + ["--out", str(out)]) == 0, capsys.readouterr().err
    assert (out / MARKER).is_file()
    (out / "stale.txt").write_text("from an older run\n")
    assert main(args + ["--out", str(out), "--force"]) == 0, capsys.readouterr().err
    assert (out / MARKER).is_file() and not (out / "stale.txt").exists()
    if cmd == "export":   # the manifest lists the marker, and the folder verifies against it
        from codesign.export.manifest import verify_manifest

        assert verify_manifest(out) == []
        assert MARKER in {f["path"] for f in json.loads((out / "MANIFEST.json").read_text())["files"]}
    else:                 # (an export takes seconds: the empty-folder case once per other command)
        empty = tmp_path / "empty"
        empty.mkdir()
        assert main(args + ["--out", str(empty), "--force"]) == 0, capsys.readouterr().err
        assert (empty / MARKER).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no staging or trash left


def test_sweep_folder_from_before_the_marker_is_still_replaced(tmp_path):
    # `make sweep` passes --force: an old runs/default (summary.json names the codesign version) is replaced
    old = tmp_path / "default"
    old.mkdir()
    (old / "summary.json").write_text(json.dumps({"codesign_version": "0.1.0"}))
    assert check_output_dir(old, force=True) == old
    (old / "summary.json").write_text(json.dumps({"something": "else"}))
    with pytest.raises(CodesignError, match="not a folder codesign wrote"):
        check_output_dir(old, force=True)


def test_helper_turns_os_errors_inside_the_folder_into_one_line(tmp_path):
    out = tmp_path / "o"
    with pytest.raises(CodesignError) as e:
        with atomic_output_dir(out) as stage:
            (stage / "a.txt").write_text("x")
            raise PermissionError(13, "Permission denied", str(stage / "b.txt"))
    assert "\n" not in str(e.value) and "permission denied" in str(e.value) and "nothing was written" in str(e.value)
    assert _listing(tmp_path) == []   # the staging folder is gone, the destination never made
    (tmp_path / "f").write_text("")
    with pytest.raises(CodesignError, match="is a file, not a folder"):
        atomic_write_text(tmp_path / "f" / "g", "x")
    if os.geteuid() != 0:   # root may write anywhere; the permission case needs an ordinary user
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(CodesignError, match="permission denied"):
            check_output_dir(ro / "x")
