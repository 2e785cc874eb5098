"""Hostile input (issue 12): every bad value or file is one line and exit 2, never a
traceback, a hang or a write where none belongs. In-process (typer's CliRunner)."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.catalog.files import MAX_INPUT_BYTES, read_text
from capacity.cli import app
from capacity.cli.files import write_file, write_folder
from capacity.errors import CapacityError
from capacity.units import parse_quantity

ROOT = Path(__file__).resolve().parent.parent
HF = Path(__file__).resolve().parent / "data" / "hf_configs"
JOB = ["--params", "1B", "--tokens", "20B", "--cluster", "leonardo-booster"]


def cli(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def mknod(path: Path, minor: int) -> None:
    """A character device like /dev/null (3) or /dev/zero (5), made in a tmp folder."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("creating device nodes needs root")


def one_line_error(args: list[str], field: str | None = None) -> str:
    code, _out, err = cli(*args)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note:")]
    assert code == 2, (args, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    if field:
        assert field in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("text", "hint"),
    [("1,5T", "1.5T"), ("", "empty"), ("  ", "empty"), ("inf", "number"), ("nan", "number")],
)
def test_ambiguous_or_empty_quantities_are_refused(text, hint):
    with pytest.raises(CapacityError, match=hint):
        parse_quantity(text, field="tokens")


def test_thousands_separators_still_read():
    assert parse_quantity("4,000,000", field="x") == 4e6
    assert parse_quantity("1,000.5B", field="x") == 1.0005e12


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ([*JOB, "--failure-rate", "inf"], "failure-rate"),
        ([*JOB, "--checkpoint-gbps", "inf"], "checkpoint-gbps"),
        ([*JOB, "--job-hours", "inf", "--json"], "job-hours"),
        ([*JOB, "--micro-batch", "99999999999999999999999"], "micro-batch"),
        ([*JOB, "--nodes", "99999999999999999999999"], "nodes"),
        ([*JOB, "--days", "inf"], "days"),
        (["--params", "", "--tokens", "20B"], "params"),
        (["--params", "1B", "--cluster", ""], "cluster"),
        (["--params", "1B", "--tokens", "1,5T"], "1.5T"),
        (["--model", "x" * 400], "model"),
    ],
)
def test_estimate_options_checked_at_the_edge(args, field):
    one_line_error(["estimate", *args], field)


@pytest.mark.parametrize("mfu", ["0", "2", "nan", "-0.1"])
@pytest.mark.parametrize("command", ["compare", "estimate", "optimal"])
def test_mfu_outside_unit_interval_is_an_error_everywhere(command, mfu):
    extra = (
        ["--budget", "1e21 flops", "--cluster", "leonardo-booster"] if command == "optimal" else []
    )
    one_line_error([command, *extra, "--mfu", mfu], "mfu")


def test_unquoted_budget_gets_a_quoting_hint():
    line = one_line_error(["optimal", "--budget", "500k", "gpu-hours"])
    assert "quotes" in line and "'500k gpu-hours'" in line


def test_target_loss_nan_names_the_option():
    one_line_error(["optimal", "--target-loss", "nan"], "target-loss")


def test_every_help_renders():
    for command in ("estimate", "plan", "validate", "optimal", "compare", "report", "proposal"):
        code, out, err = cli(command, "--help")
        assert code == 0 and "Usage" in out, (command, err)
    code, out, _ = cli("optimal", "--help")
    assert "Cluster[/partition]" in out


# --- files read -------------------------------------------------------------------------


def _config(tmp_path: Path, **changes: object) -> Path:
    cfg = json.loads((HF / "llama-2-7b.json").read_text())
    cfg.update(changes)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"max_position_embeddings": "131072"}, "max_position_embeddings"),
        ({"architectures": [1, 2]}, "architectures"),
        ({"hidden_size": True}, "hidden_size"),
        ({"num_hidden_layers": -3}, "num_hidden_layers"),
        ({"model_type": ["llama"]}, "model_type"),
    ],
)
def test_config_json_wrong_types_name_the_key(tmp_path, changes, key):
    one_line_error(["estimate", "--model", str(_config(tmp_path, **changes))], key)


@pytest.mark.parametrize(
    "content",
    [b'{"a": "\xff"}', b"[" * 200_000 + b"]" * 200_000, b'{"hidden_size": NaN}'],
)
def test_config_json_bytes_and_nesting(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    one_line_error(["estimate", "--model", str(path)], "model")


def test_devices_and_big_files_are_not_read(tmp_path):
    dev = tmp_path / "zero"
    mknod(dev, 5)
    line = one_line_error(["estimate", "--model", str(dev)], "model")
    assert "regular file" in line
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_INPUT_BYTES + 1))
    with pytest.raises(CapacityError, match="limited"):
        read_text(big, field="model")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    one_line_error(["validate", "--runs", str(fifo)], "runs")


def test_catalog_toml_not_utf8_and_loose_files(tmp_path):
    (tmp_path / "bad" / "grids").mkdir(parents=True)
    (tmp_path / "bad" / "grids" / "xx.toml").write_bytes(b'id = "xx"\nname = "\xff"\n')
    line = one_line_error(["estimate", "--catalog", str(tmp_path / "bad")])
    assert "xx.toml" in line and "UTF-8" in line
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "leonardo-booster.toml").write_text(
        (ROOT / "catalogs/clusters/leonardo-booster.toml").read_text()
    )
    line = one_line_error(["catalog", "validate", str(loose)], "catalog")
    assert "subfolder" in line


# --- files written ----------------------------------------------------------------------


def test_outputs_refuse_devices_folders_system_paths_and_foreign_files(tmp_path):
    dev = tmp_path / "null"
    mknod(dev, 3)
    foreign = tmp_path / "passwd"
    foreign.write_text("root:x:0:0::/root:/bin/sh\n")
    for target in (dev, foreign, tmp_path, Path("/proc/capacity-test.html")):
        one_line_error(["report", *JOB, "-o", str(target)], "output")
    assert foreign.read_text().startswith("root:")
    assert stat.S_ISCHR(os.stat(dev).st_mode)
    one_line_error(["validate", "--fit", "--write", str(tmp_path)], "write")
    one_line_error(["report", *JOB, "-o", str(tmp_path / ("a" * 300 + ".html"))], "output")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "passwd"]


def test_full_disk_leaves_no_temp_file(tmp_path, monkeypatch):
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "r.html"
    with pytest.raises(CapacityError, match="disk is full"):
        write_file(target, "x" * 10_000, field="output", suffixes=(".html",))
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    target = tmp_path / "r.html"
    target.write_text("<html>old</html>")
    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_file(target, "<html>new</html>", field="output", suffixes=(".html",))
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert target.read_text() == "<html>old</html>"


def test_folder_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    out = tmp_path / "proposal"
    write_folder(out, {"a.md": "old a", "b.html": "old b"}, field="output")
    calls = {"n": 0}
    real_fsync = os.fsync

    def killed_midway(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        write_folder(out, {"a.md": "new a", "b.html": "new b"}, field="output")
    monkeypatch.undo()
    assert (out / "a.md").read_text() == "old a" and (out / "b.html").read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proposal"]
    write_folder(out, {"a.md": "new a", "b.html": "new b"}, field="output")
    assert (out / "a.md").read_text() == "new a"
    (out / "mine.txt").write_text("user file")
    with pytest.raises(CapacityError, match="other files"):
        write_folder(out, {"a.md": "x", "b.html": "y"}, field="output")
    assert (out / "mine.txt").exists()


@pytest.mark.parametrize("rate", ["0", "-1", "nan", "inf"])
def test_catalog_exchange_rate_must_be_positive_and_finite(tmp_path, rate):
    text = (ROOT / "catalogs/currency/exchange-rates.toml").read_text()
    (tmp_path / "currency").mkdir()
    (tmp_path / "currency" / "exchange-rates.toml").write_text(
        re.sub(r"USD = [0-9.]+", f"USD = {rate}", text, count=1)
    )
    one_line_error(["compare", "--params", "1B", "--catalog", str(tmp_path)], "exchange-rates")


def test_catalog_price_inf_is_refused(tmp_path):
    text = (ROOT / "catalogs/cloud/aws-p5-48xlarge.toml").read_text()
    (tmp_path / "cloud").mkdir()
    lines = [
        "price_per_hour = inf" if ln.startswith("price_per_hour") else ln
        for ln in text.splitlines()
    ]
    (tmp_path / "cloud" / "aws-p5-48xlarge.toml").write_text("\n".join(lines))
    one_line_error(
        ["estimate", "--cluster", "aws-p5-48xlarge", "--catalog", str(tmp_path)], "price"
    )


@pytest.mark.parametrize(
    ("column", "value"), [("tp", "0"), ("accelerator_hours", "0"), ("n_accelerators", "1e23")]
)
def test_runs_csv_values_are_checked(tmp_path, column, value):
    import csv
    import io

    rows = list(
        csv.DictReader(io.StringIO((ROOT / "catalogs/runs/published_runs.csv").read_text()))
    )
    row = {**rows[0], column: value}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerow(row)
    path = tmp_path / "runs.csv"
    path.write_text(out.getvalue())
    one_line_error(["validate", "--runs", str(path)], column)


def test_catalog_option_must_be_a_folder(tmp_path):
    path = tmp_path / "cat.toml"
    path.write_text("x = 1\n")
    assert "not a folder" in one_line_error(["estimate", "--catalog", str(path)], "catalog")


def test_token_counts_below_one_are_refused():
    one_line_error(
        ["optimal", "--budget", "1e21 flops", "--unique-tokens", "1e-300", "--json"],
        "unique-tokens",
    )


@pytest.mark.parametrize(
    "command",
    [["proposal"], ["fit-law"], ["validate", "--runs"], ["estimate", "--measured-steps"]],
)
def test_every_reader_refuses_a_pipe(tmp_path, command):
    fifo = tmp_path / "input"
    os.mkfifo(fifo)  # reading it would block (like /dev/zero would never end)
    one_line_error([*command, str(fifo)])
