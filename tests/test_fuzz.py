"""Fuzz (issue 12): generated option combinations and corrupted input files end with exit 0
and finite JSON, or exit 2 and one line, never a traceback or an internal error.

In-process (typer's CliRunner) and derandomized, so the suite stays fast and repeatable;
example counts are small and each example is a bounded job (a 1B model, 20B tokens).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

from conftest import LAW_TOML, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from capacity.catalog.loader import _load_cached
from capacity.cli import app

HF = Path(__file__).resolve().parent / "data" / "hf_configs"
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Values a careless or hostile user types: empty, signs, non-finite, huge, commas, words.
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "1,5T",
    "99999999999999999999999",
    "1e-300",
    "abc",
    "7B",
    "2",
    "0.5",
    "\x00",
    "a" * 500,
    "\u0663",  # Arabic-Indic 3
    "\uff11\uff12B",  # fullwidth 12B
    "1e15T",
    "1.5 T",
    "0x10",
    "-",
]
hostile_value = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)

OPTIONS = {
    "estimate": [
        "--tokens", "--params", "--nodes", "--gpus", "--mfu", "--days", "--budget",
        "--seq-len", "--global-batch", "--precision", "--tp", "--pp", "--dp", "--zero",
        "--micro-batch", "--cp", "--ep", "--vpp", "--measured-step-time", "--failure-rate",
        "--restart-min", "--checkpoint-gbps", "--job-hours", "--currency", "--cluster",
        "--recompute", "--optimizer",
    ],
    "plan": ["--tokens", "--params", "--nodes", "--gpus", "--tp", "--pp", "--zero", "--top",
             "--micro-batch", "--global-batch", "--seq-len", "--ep", "--cp"],
    "optimal": ["--budget", "--mfu", "--target-loss", "--unique-tokens", "--inference-tokens",
                "--nodes", "--gpus", "--law", "--seq-len"],
    "compare": ["--tokens", "--params", "--nodes", "--gpus", "--days", "--mfu", "--sort",
                "--currency", "--seq-len"],
}  # fmt: skip
BASE = {
    "estimate": ["--params", "1B", "--tokens", "20B", "--cluster", "leonardo-booster"],
    "plan": ["--params", "1B", "--tokens", "20B", "--cluster", "leonardo-booster", "--top", "3"],
    "optimal": ["--budget", "1e21 flops", "--cluster", "leonardo-booster"],
    "compare": ["--params", "1B", "--tokens", "20B", "--cluster", "leonardo-booster"],
}


def _refuse(name: str) -> float:
    raise AssertionError(f"non-finite number {name} in JSON output")


def check_outcome(args: list[str]) -> None:
    """The contract: exit 0 with finite JSON (when asked), or exit 2 with one error line."""
    res = CliRunner().invoke(app, args)
    err_lines = [
        ln
        for ln in res.stderr.splitlines()
        if ln.strip() and not ln.startswith(("note:", "warning:", "wrote "))
    ]
    assert "Traceback" not in res.stderr + res.stdout, args
    assert res.exit_code in (0, 2), (args, res.exit_code, res.stderr[-500:])
    if res.exit_code == 2:
        assert len(err_lines) == 1 and err_lines[0].startswith("error: "), (args, res.stderr)
        assert "internal error" not in err_lines[0], (args, err_lines[0])
    elif "--json" in args:
        json.loads(res.stdout, parse_constant=_refuse)


@FUZZ
@given(
    command=st.sampled_from(sorted(OPTIONS)),
    data=st.data(),
)
def test_generated_option_combinations(command, data):
    names = data.draw(st.lists(st.sampled_from(OPTIONS[command]), min_size=1, max_size=3))
    args = [*BASE[command]]
    for name in names:
        args += [name, data.draw(hostile_value)]
    check_outcome([command, *args, "--json"])


# --- corrupted files ----------------------------------------------------------------------

NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
TOKENS = [b"0", b"-1", b"inf", b"nan", b"1e400", b'"x"', b"[]", b"99999999999999999999999",
          b"true", b"0.0", b"1e-300", b"\xff\xfe"]  # fmt: skip


@st.composite
def corrupted(draw: st.DrawFn, original: bytes) -> bytes:
    """The file with one number replaced, bytes flipped, the tail cut off or a line twice."""
    how = draw(st.sampled_from(["number", "number", "number", "flip", "cut", "junk", "dup"]))
    if how == "dup":  # a line twice: a duplicate key, column or row
        lines = original.splitlines(keepends=True)
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        return b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if how == "number":
        spans = [m.span() for m in NUMBER.finditer(original)]
        start, end = draw(st.sampled_from(spans))
        return original[:start] + draw(st.sampled_from(TOKENS)) + original[end:]
    pos = draw(st.integers(min_value=0, max_value=len(original) - 1))
    if how == "flip":
        return original[:pos] + bytes([original[pos] ^ 0xFF]) + original[pos + 1 :]
    if how == "cut":
        return original[:pos]
    return original[:pos] + draw(st.binary(min_size=1, max_size=8)) + original[pos:]


FILE_SETTINGS = settings(FUZZ, max_examples=12)
LEONARDO = (ROOT / "catalogs/clusters/leonardo-booster.toml").read_bytes()
CONFIG = (HF / "llama-2-7b.json").read_bytes()
MEASURED = b"tp,pp,dp,micro_batch_seqs,step_time_s\n1,1,64,2,1.5\n2,1,32,1,2.0\n"
_rows = list(csv.DictReader(io.StringIO((ROOT / "catalogs/runs/published_runs.csv").read_text())))
_out = io.StringIO()
_w = csv.DictWriter(_out, fieldnames=list(_rows[0]))
_w.writeheader()
_w.writerows(_rows[:3])
RUNS = _out.getvalue().encode()
CAMPAIGN = b"""[campaign]
name = "Fuzz"
start = 2027-01-01
months = 12
contingency_fraction = 0.10

[[systems]]
id = "leo"
system = "leonardo-booster/booster"
allocation = 9000

[[runs]]
name = "main"
kind = "main"
system = "leo"
params = "1B"
tokens = "20B"
nodes = 8
quarters = [1, 2]

[[runs]]
name = "evals"
kind = "evaluation"
system = "leo"
hours_per_job = 2.0
nodes = 2
count = 4
quarters = [3]
"""


@FILE_SETTINGS
@given(data=st.data())
def test_corrupted_catalog_toml(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("cat")
    (root / "clusters").mkdir()
    (root / "clusters" / "leonardo-booster.toml").write_bytes(data.draw(corrupted(LEONARDO)))
    _load_cached.cache_clear()
    check_outcome(
        ["estimate", "--params", "1B", "--tokens", "20B", "--catalog", str(root), "--json"]
    )


@FILE_SETTINGS
@given(data=st.data())
def test_corrupted_config_json(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cfg") / "config.json"
    path.write_bytes(data.draw(corrupted(CONFIG)))
    check_outcome(["estimate", "--model", str(path), "--tokens", "20B", "--nodes", "16", "--json"])


@FILE_SETTINGS
@given(data=st.data())
def test_corrupted_measured_steps_csv(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("ms") / "steps.csv"
    path.write_bytes(data.draw(corrupted(MEASURED)))
    check_outcome(
        [
            *("estimate", "--params", "1B", "--tokens", "20B", "--nodes", "16"),
            *("--measured-steps", str(path), "--json"),
        ]
    )


@FILE_SETTINGS
@given(data=st.data())
def test_corrupted_runs_csv(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("runs") / "runs.csv"
    path.write_bytes(data.draw(corrupted(RUNS)))
    check_outcome(["validate", "--runs", str(path), "--no-heldout", "--json"])


LADDER = (ROOT / "examples/ablation_ladder.csv").read_bytes()
LAW = LAW_TOML.encode()


@FILE_SETTINGS
@given(data=st.data())
def test_corrupted_law_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("law") / "law.toml"
    path.write_bytes(data.draw(corrupted(LAW)))
    target = data.draw(st.sampled_from([["--budget", "1e21 flops"], ["--target-loss", "2.5"]]))
    check_outcome(["optimal", *target, "--law", str(path), "--json"])


@settings(FUZZ, max_examples=6)
@given(data=st.data())
def test_corrupted_fit_law_runs(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("ladder")
    path = folder / "runs.csv"
    path.write_bytes(data.draw(corrupted(LADDER)))
    check_outcome(
        ["fit-law", str(path), "-o", str(folder / "law.toml"), "--bootstrap", "3", "--json"]
    )


@settings(FUZZ, max_examples=6)
@given(data=st.data())
def test_corrupted_campaign_toml(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("camp")
    path = folder / "campaign.toml"
    path.write_bytes(data.draw(corrupted(CAMPAIGN)))
    check_outcome(["proposal", str(path), "-o", str(folder / "out"), "--json"])
    shutil.rmtree(folder, ignore_errors=True)
