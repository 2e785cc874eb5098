"""`capacity fit-law`: fit L(N, D) = E + A/N^alpha + B/D^beta to your own ablation runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from capacity.cli.options import CatalogOpt, JsonOpt

if TYPE_CHECKING:
    from capacity.catalog.loader import Catalog
    from capacity.scaling.fit import LawFit, RunData

HELP = """Fit your own scaling law L(N, D) = E + A/N^alpha + B/D^beta to a ladder of runs.

RUNS is a CSV with one finished run per row and a header naming the columns:

  params (e.g. 125M) or model (a catalog id or a config.json path)   the model size N

  tokens (e.g. 2.5B)   training tokens D;   loss   final loss, nats/token

  optional: run_id, seed (repeats of one size and budget with other seeds)

The fit is Hoffmann et al. 2022 Approach 3 as replicated by Besiroglu et al. 2024: Huber
loss (delta 1e-3) on log-loss, L-BFGS from their grid of starting points, the best kept.
Every constant, the allocation exponents and (with --budget) the compute-optimal N and D
get P10-P90 intervals from a bootstrap over runs. Runs that cannot identify the law (fewer
than 3 sizes, one token budget, one tokens/param ratio, losses within 3 %) are refused
with the runs that would help; --force fits anyway. Where runs form isoFLOP profiles
(>= 3 sizes at one 6ND), Approach 2 minima are fitted too.

Writes the law (constants, ranges, runs, bootstrap samples) to a TOML file for
`capacity optimal --law FILE`, `capacity report --law FILE` and campaign files.

Examples:

  capacity fit-law examples/ablation_ladder.csv -o my_law.toml

  capacity fit-law runs.csv -o law.toml --budget '1e24 flops'
"""


def register(app: typer.Typer) -> None:
    app.command("fit-law", help=HELP)(fit_law_cmd)


_PARAM_COLUMNS = ("params", "model", "config")
_LOSS_COLUMNS = ("loss", "final_loss")
# Above a real ladder (Hoffmann et al. 2022 fitted "over 400" runs, as Besiroglu et al.
# 2024 recount); the fit's cost grows with runs x bootstrap resamples (1,000 x 200: ~3 s).
MAX_LADDER_RUNS = 1_000


def read_runs(path: Path, catalog: Catalog | None) -> RunData:
    """Read the runs CSV; one line naming the row and column on anything it cannot use."""
    from capacity.catalog.runs_io import read_csv_table
    from capacity.cli.common import resolve_model
    from capacity.errors import CapacityError
    from capacity.scaling.fit import run_data
    from capacity.units import parse_quantity
    from capacity.workload import param_counts

    rows = read_csv_table(path, "runs", skip_comments=True)[1]
    if not rows:
        raise CapacityError(f"'{path}' has no runs (a header and one row per run)", field="runs")
    if len(rows) > MAX_LADDER_RUNS:
        raise CapacityError(
            f"'{path}' has {len(rows):,} runs; a ladder of at most {MAX_LADDER_RUNS:,} is fitted "
            "(each bootstrap refit goes over every run)",
            field="runs",
        )
    cols = {c.strip().lower(): c for c in rows[0] if c is not None}
    size_col = next((cols[c] for c in _PARAM_COLUMNS if c in cols), None)
    loss_col = next((cols[c] for c in _LOSS_COLUMNS if c in cols), None)
    missing = [
        name
        for name, col in (
            ("params (or model)", size_col),
            ("tokens", cols.get("tokens")),
            ("loss", loss_col),
        )
        if col is None
    ]
    if missing:
        raise CapacityError(
            f"'{path}' has no column {', '.join(missing)} (found: {', '.join(cols) or 'none'})",
            field="runs",
        )
    assert size_col is not None and loss_col is not None
    id_col = cols.get("run_id") or cols.get("id")
    seed_col = cols.get("seed")
    params: list[float] = []
    tokens: list[float] = []
    losses: list[float] = []
    ids: list[str] = []
    for i, row in enumerate(rows, start=2):
        where = f"{path.name} line {i}"
        size = (row.get(size_col) or "").strip()
        try:
            if size_col == cols.get("params"):
                n = parse_quantity(size, field="params")
            else:
                if catalog is None:
                    raise CapacityError("a model column needs the catalog", field="model")
                spec = resolve_model(catalog, size, None)
                n = float(param_counts(spec).total)
            d = parse_quantity((row.get(cols["tokens"]) or "").strip(), field="tokens")
            lo = parse_quantity((row.get(loss_col) or "").strip(), field="loss")
        except CapacityError as exc:
            raise CapacityError(f"{where}: {exc}", field="runs") from None
        rid = (row.get(id_col) or "").strip() if id_col else ""
        seed = (row.get(seed_col) or "").strip() if seed_col else ""
        rid = rid or f"{path.stem}:{i}"
        ids.append(f"{rid} seed {seed}" if seed else rid)
        params.append(n)
        tokens.append(d)
        losses.append(lo)
    return run_data(params, tokens, losses, ids)


def fit_law_cmd(
    runs: Annotated[Path, typer.Argument(help="CSV of runs: params (or model), tokens, loss.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Law file to write (default: RUNS stem + .law.toml)."),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            help="Also show the compute-optimal N, D and loss at this budget, e.g. '1e24 flops'."
        ),
    ] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
    name: Annotated[str | None, typer.Option(help="Name of the law (default: from RUNS).")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Fit even when the runs cannot identify the law.")
    ] = False,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    import datetime as dt
    import hashlib

    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.files import check_output_file, write_file
    from capacity.errors import CapacityError
    from capacity.scaling.fit import fit_law, law_to_toml

    flops = _flops_budget(budget) if budget else None
    if bootstrap < 0:
        raise CapacityError(f"must be >= 0, got {bootstrap}", field="bootstrap")
    out = output or Path(f"{runs.stem}.law.toml")
    check_output_file(out, field="output", suffixes=(".toml",))
    cat = get_catalog(catalog) if _needs_catalog(runs) else None
    data = read_runs(runs, cat)
    digest = hashlib.sha256(runs.read_bytes()).hexdigest()[:16]
    fit = fit_law(
        data,
        law_id=f"fit:{runs.stem}",
        name=name or f"fitted on {runs.name}",
        source=f"{runs.name} (sha256 {digest}…, {data.params.size} runs) via capacity fit-law",
        as_of=dt.date.today().isoformat(),
        n_boot=bootstrap,
        seed=seed,
        force=force,
    )
    write_file(out, law_to_toml(fit), field="output", suffixes=(".toml",))
    for w in fit.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if json_out:
        print(dump_json(fit_json(fit, flops, out)))
        return
    print(render_fit(fit, flops))
    print(f"wrote {out}", file=sys.stderr)


def _needs_catalog(runs: Path) -> bool:
    from capacity.catalog.files import read_text
    from capacity.errors import CapacityError

    try:
        head = read_text(runs, field="runs").lstrip("\ufeff \n").splitlines()[0].lower()
    except (CapacityError, IndexError):
        return False  # read_runs reports the problem
    return "params" not in [c.strip() for c in head.split(",")]


def _flops_budget(text: str) -> float:
    from capacity.budget import parse_budget
    from capacity.errors import CapacityError

    b = parse_budget(text)
    if b.unit != "flops":
        raise CapacityError("give the budget in FLOPs here, e.g. '1e24 flops'", field="budget")
    return b.amount


def fit_json(fit: LawFit, flops: float | None, path: Path) -> dict[str, object]:
    doc: dict[str, object] = {
        "law_file": str(path),
        "id": fit.id,
        "n_runs": fit.n_runs,
        "constants": {k: v.model_dump() for k, v in fit.constants().items()},
        "interval": f"P{fit.interval_percentiles[0]:g}-P{fit.interval_percentiles[1]:g}",
        "bootstrap": len(fit.bootstrap),
        "warnings": list(fit.warnings),
        "seed_noise": fit.seed_noise,
        "isoflop": None if fit.isoflop is None else fit.isoflop.model_dump(),
    }
    if flops is not None:
        n, d, lo = fit.allocation_interval(flops)
        doc["allocation"] = {
            "flops": flops,
            "params": n.model_dump(),
            "tokens": d.model_dump(),
            "loss": lo.model_dump(),
        }
    return doc


def render_fit(fit: LawFit, flops: float | None) -> str:
    from capacity import fmt
    from capacity.cli.common import table

    p0, p1 = fit.interval_percentiles
    rows = []
    labels = {
        "E": "E (irreducible loss)",
        "A": "A",
        "B": "B",
        "alpha": "alpha (size exponent)",
        "beta": "beta (data exponent)",
        "a": "a: N_opt ~ C^a",
        "b": "b: D_opt ~ C^b",
    }
    for key, iv in fit.constants().items():
        rows.append([labels[key], f"{iv.value:.4g}", f"{iv.low:.4g} - {iv.high:.4g}"])
    n0, n1 = fit.params_range
    d0, d1 = fit.tokens_range
    out = [
        f"{fit.name}: L(N, D) = E + A/N^alpha + B/D^beta, {fit.n_runs} runs, "
        f"{fmt.count(n0)}-{fmt.count(n1)} params, {fmt.count(d0)}-{fmt.count(d1)} tokens",
        table(rows, ["constant", "fit", f"P{p0:g}-P{p1:g} ({len(fit.bootstrap)} bootstraps)"]),
    ]
    if fit.seed_noise is not None:
        out.append(f"seed-to-seed spread of the loss: {fit.seed_noise:.2%} (repeat seeds)")
    if flops is not None:
        n, d, lo = fit.allocation_interval(flops)
        far = fit.extrapolation(n.value, d.value)
        out.append(
            f"\nCompute-optimal at {fmt.sci(flops)} FLOPs (6ND):\n"
            + table(
                [
                    ["N*", fmt.count(n.value), f"{fmt.count(n.low)} - {fmt.count(n.high)}"],
                    ["D*", fmt.count(d.value), f"{fmt.count(d.low)} - {fmt.count(d.high)}"],
                    ["loss", f"{lo.value:.3f}", f"{lo.low:.3f} - {lo.high:.3f}"],
                ],
                ["", "fit", f"P{p0:g}-P{p1:g}"],
            )
            + (f"\n(extrapolates {far:.0f}x beyond the largest run)" if far > 1.5 else "")
        )
    iso = fit.isoflop
    if iso is not None:
        prof = ", ".join(
            f"{p.flops:.2g} FLOPs -> N_opt {fmt.count(p.params_opt)}" for p in iso.profiles
        )
        a = f"; a = {iso.a:.3f} (Approach 2)" if iso.a is not None else ""
        out.append(f"\nIsoFLOP profiles: {prof}{a}")
    return "\n".join(out)
