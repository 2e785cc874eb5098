"""Fit your own scaling law L(N, D) = E + A/N^alpha + B/D^beta from a ladder of runs.

The fit is Hoffmann et al. 2022 (arXiv:2203.15556) Approach 3 as replicated by Besiroglu et
al. 2024 (arXiv:2404.10102): parameters theta = (a, b, e, alpha, beta) with A = exp(a),
B = exp(b), E = exp(e); the prediction log L = LSE(a - alpha ln N, b - beta ln D, e); the
objective is the Huber loss (delta = 1e-3) of predicted minus observed log-loss, summed over
runs; L-BFGS from a grid of starting points, keep the best. Uncertainty: a bootstrap over runs
(resampled with replacement), each resample refitted from the full-data optimum, as Besiroglu
et al. do. Everything is vectorised: all starts (or all resamples) run as one batch through a
small numpy L-BFGS with a grid line search (scipy is not a dependency).

Optional Approach 2 (isoFLOP profiles): runs grouped by compute C = 6ND; a parabola in ln N
through each profile with >= 3 sizes gives N_opt(C); a power law through >= 2 such minima
gives the allocation exponent a.

Pure: no I/O. Units: N in parameters, D in tokens, C in FLOPs, loss in nats/token.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from capacity import fmt
from capacity.errors import CapacityError
from capacity.scaling.fit_data import (
    RunData,
    identifiability,
    seed_noise,
)
from capacity.scaling.fit_data import run_data as run_data  # re-exported: the public entry
from capacity.scaling.fit_solver import (
    DEFAULT_BOOTSTRAPS,
    HUBER_DELTA,
    MAX_BOOTSTRAPS,
    bootstrap_thetas,
    fit_theta,
)
from capacity.scaling.parametric import FloatArray, ParametricLaw, as_positive

INTERVAL_PERCENTILES = (10.0, 90.0)  # P10-P90, as Hoffmann et al. 2022 Table 2 reports
ISOFLOP_REL_TOL = 0.10  # runs within 10 % of the same 6ND form one isoFLOP profile
# Presentation, not physics: past 1.5x the fitted range (in N or D) the outputs say that
# the bootstrap interval covers the fit's noise only, not a change of regime.
EXTRAPOLATION_NOTE_RATIO = 1.5


def far_beyond_fit(extrapolation: float | None) -> bool:
    """Whether a plan lies far enough beyond the fitted runs to say so (see above)."""
    return extrapolation is not None and extrapolation > EXTRAPOLATION_NOTE_RATIO


# -- results --------------------------------------------------------------------------------


class Interval(BaseModel):
    """A point estimate with its bootstrap P10-P90 range."""

    model_config = ConfigDict(frozen=True)

    value: float
    low: float
    high: float


class IsoflopProfile(BaseModel):
    """Approach 2: one isoFLOP profile and the size at its parabola's minimum."""

    model_config = ConfigDict(frozen=True)

    flops: float
    n_runs: int
    params_opt: float
    loss_opt: float


class IsoflopFit(BaseModel):
    """Approach 2 (Hoffmann et al. 2022 Sec. 3.2): N_opt = k C^a through the profile minima."""

    model_config = ConfigDict(frozen=True)

    profiles: tuple[IsoflopProfile, ...]
    a: float | None  # None with one profile
    k: float | None


class LawFit(BaseModel):
    """A fitted law with its bootstrap; what `capacity fit-law` writes to TOML.

    `bootstrap` holds (E, A, B, alpha, beta) per resample, so any derived quantity (the loss at
    a planned size, the compute-optimal allocation at a budget) gets its interval later.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    source: str
    as_of: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    huber_delta: float = HUBER_DELTA
    objective: float = 0.0
    n_runs: int
    params_range: tuple[float, float]
    tokens_range: tuple[float, float]
    flops_range: tuple[float, float]
    loss_range: tuple[float, float]
    interval_percentiles: tuple[float, float] = INTERVAL_PERCENTILES
    bootstrap_seed: int = 0
    bootstrap: tuple[tuple[float, float, float, float, float], ...] = Field(default=())
    warnings: tuple[str, ...] = ()
    seed_noise: float | None = None  # pooled SD of log-loss across repeat seeds
    runs: tuple[tuple[str, float, float, float], ...] = ()  # (id, N, D, loss)
    isoflop: IsoflopFit | None = None

    @property
    def law(self) -> ParametricLaw:
        return ParametricLaw(
            id=self.id,
            name=self.name,
            E=self.E,
            A=self.A,
            B=self.B,
            alpha=self.alpha,
            beta=self.beta,
            source=self.source,
            validity=self.validity,
        )

    @property
    def validity(self) -> str:
        (n0, n1), (d0, d1) = self.params_range, self.tokens_range
        return (
            f"fit on {self.n_runs} runs, {fmt.count(n0)}-{fmt.count(n1)} params, "
            f"{fmt.count(d0)}-{fmt.count(d1)} tokens "
            f"({self.flops_range[0]:.1e}-{self.flops_range[1]:.1e} FLOPs); beyond that it "
            "extrapolates, and the interval covers fit noise only, not a change of regime"
        )

    def samples(self) -> FloatArray:
        """(n_boot, 5) array of E, A, B, alpha, beta."""
        return np.asarray(self.bootstrap, dtype=np.float64).reshape(-1, 5)

    def _band(self, values: FloatArray, point: float) -> Interval:
        if values.size == 0:
            return Interval(value=point, low=point, high=point)
        lo, hi = np.percentile(values[np.isfinite(values)], self.interval_percentiles)
        return Interval(value=point, low=float(lo), high=float(hi))

    def constants(self) -> dict[str, Interval]:
        """E, A, B, alpha, beta and the allocation exponents a, b with their intervals."""
        s = self.samples()
        point = {
            "E": self.E,
            "A": self.A,
            "B": self.B,
            "alpha": self.alpha,
            "beta": self.beta,
        }
        out = {k: self._band(s[:, i], v) for i, (k, v) in enumerate(point.items())}
        law = self.law
        out["a"] = self._band(s[:, 4] / (s[:, 3] + s[:, 4]), law.a)
        out["b"] = self._band(s[:, 3] / (s[:, 3] + s[:, 4]), law.b)
        return out

    def loss_interval(self, params: float, tokens: float) -> Interval:
        """Loss (nats/token) of N params on D tokens, with its bootstrap range."""
        s = self.samples()
        n, d = float(as_positive(params, "params")), float(as_positive(tokens, "tokens"))
        with np.errstate(all="ignore"):
            v = s[:, 0] + s[:, 1] / n ** s[:, 3] + s[:, 2] / d ** s[:, 4]
        return self._band(v, float(self.law.loss(n, d)))

    def allocation_interval(self, flops: float) -> tuple[Interval, Interval, Interval]:
        """Compute-optimal (N, D, loss) at C FLOPs (C = 6ND), each with its bootstrap range."""
        c6 = float(as_positive(flops, "flops")) / 6.0
        s = self.samples()
        e, a_, b_, al, be = s.T
        with np.errstate(all="ignore"):
            g = (al * a_ / (be * b_)) ** (1.0 / (al + be))
            n = g * c6 ** (be / (al + be))
            d = c6 / n
            lo = e + a_ / n**al + b_ / d**be
        law = self.law
        n0, d0 = (float(v) for v in law.compute_optimal(6.0 * c6))
        return self._band(n, n0), self._band(d, d0), self._band(lo, float(law.loss(n0, d0)))

    def frontier_band(self, flops: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Compute-optimal loss at each C (FLOPs): (fit, low, high) arrays, bootstrap range."""
        c6 = np.atleast_1d(as_positive(flops, "flops")) / 6.0
        point = np.atleast_1d(np.asarray(self.law.optimal_loss(6.0 * c6), dtype=np.float64))
        s = self.samples()
        if s.shape[0] == 0:
            return point, point.copy(), point.copy()
        e, a_, b_, al, be = (col[:, None] for col in s.T)
        with np.errstate(all="ignore"):
            g = (al * a_ / (be * b_)) ** (1.0 / (al + be))
            n = g * c6[None] ** (be / (al + be))
            lo = e + a_ / n**al + b_ / (c6[None] / n) ** be
        lo = np.where(np.isfinite(lo), lo, np.nan)
        low, high = np.nanpercentile(lo, self.interval_percentiles, axis=0)
        return point, low, high

    def extrapolation(self, params: float, tokens: float) -> float:
        """How far (params, tokens) lies beyond the fitted runs: max ratio outside the range."""
        (n0, n1), (d0, d1) = self.params_range, self.tokens_range
        return max(params / n1, n0 / params, tokens / d1, d0 / tokens, 1.0)


def isoflop_fit(data: RunData, rel_tol: float = ISOFLOP_REL_TOL) -> IsoflopFit | None:
    """Approach 2 where the runs form isoFLOP profiles (>= 3 sizes at one 6ND), else None."""
    c = 6.0 * data.params * data.tokens
    order = np.argsort(c)
    groups: list[list[int]] = []
    for i in order:
        if groups and c[i] <= c[groups[-1][0]] * (1 + rel_tol):
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    profiles = []
    for grp in groups:
        ix = np.array(grp)
        x = np.log(data.params[ix])
        if np.unique(np.round(x, 3)).size < 3:
            continue
        coef = np.polyfit(x, data.loss[ix], 2)
        if coef[0] <= 0:
            continue  # no minimum inside: the profile is monotone
        x_opt = -coef[1] / (2 * coef[0])
        if not (x.min() <= x_opt <= x.max()):
            continue  # the minimum lies outside the sizes run: not measured
        profiles.append(
            IsoflopProfile(
                flops=float(np.exp(np.mean(np.log(c[ix])))),
                n_runs=len(grp),
                params_opt=float(np.exp(x_opt)),
                loss_opt=float(np.polyval(coef, x_opt)),
            )
        )
    if not profiles:
        return None
    if len(profiles) < 2:
        return IsoflopFit(profiles=tuple(profiles), a=None, k=None)
    lc = np.log([p.flops for p in profiles])
    ln = np.log([p.params_opt for p in profiles])
    a, logk = np.polyfit(lc, ln, 1)
    return IsoflopFit(profiles=tuple(profiles), a=float(a), k=float(math.exp(logk)))


def fit_law(
    data: RunData,
    *,
    law_id: str = "fitted",
    name: str = "fitted law",
    source: str,
    as_of: str,
    n_boot: int = DEFAULT_BOOTSTRAPS,
    seed: int = 0,
    delta: float = HUBER_DELTA,
    percentiles: tuple[float, float] = INTERVAL_PERCENTILES,
    force: bool = False,
) -> LawFit:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta to runs, with a bootstrap over runs.

    Parameters
    ----------
    data : RunData
        The runs (see `run_data`).
    law_id, name, source, as_of : str
        How the law is named and sourced (`source` should name the runs file).
    n_boot : int
        Bootstrap resamples (0: none).
    seed : int
        Seed of the resampling; the same runs and seed give the same intervals.
    delta : float
        Huber threshold on log-loss residuals (1e-3 as Hoffmann et al. 2022).
    percentiles : (float, float)
        The bootstrap percentiles reported as the interval (P10-P90 by default).
    force : bool
        Fit even when `identifiability` refuses (the refusals become warnings).

    Raises
    ------
    CapacityError(field="runs")
        When the runs cannot identify the law (unless `force`), or when the fit finds no
        falling loss (alpha or beta <= 0).

    References
    ----------
    Hoffmann et al. 2022 (arXiv:2203.15556) Sec. 3.3, App. D.2; Besiroglu et al. 2024
    (arXiv:2404.10102) Sec. 2-3.

    Long because it is the pipeline in one readable sequence: checks, fit, bootstrap,
    intervals, allocation and isoFLOP profiles, each a call to a helper of
    fit_data/fit_solver.
    """
    refuse, warn = identifiability(data)
    if refuse and not force:
        raise CapacityError("; ".join(refuse), field="runs")
    warn = refuse + warn
    noise = seed_noise(data)
    if noise is not None:
        sd, groups = noise
        spread = float(np.log(data.loss.max() / data.loss.min()))
        if spread < 10 * sd:
            warn.append(
                f"seed-to-seed spread {sd:.2%} (from {groups} repeated configurations) is over "
                f"a tenth of the losses' range ({spread:.1%}): the fit resolves little"
            )
    if not 0 <= n_boot <= MAX_BOOTSTRAPS:
        raise CapacityError(f"must lie in [0, {MAX_BOOTSTRAPS:,}], got {n_boot}", field="bootstrap")
    n, d, lo = data.params, data.tokens, data.loss
    theta, f = fit_theta(n, d, lo, delta=delta)
    a, b, e, al, be = (float(v) for v in theta)
    if al <= 0 or be <= 0:
        raise CapacityError(
            f"the fit finds no falling loss (alpha={al:.3g}, beta={be:.3g}): check that larger "
            "models and longer runs reach lower losses",
            field="runs",
        )
    boot: tuple[tuple[float, float, float, float, float], ...] = ()
    if n_boot:
        th = bootstrap_thetas(theta, n, d, lo, n_boot=n_boot, seed=seed, delta=delta)
        with np.errstate(over="ignore"):
            s = np.column_stack(
                [np.exp(th[:, 2]), np.exp(th[:, 0]), np.exp(th[:, 1]), th[:, 3], th[:, 4]]
            )
        boot = tuple(tuple(float(v) for v in row) for row in s)  # type: ignore[misc]
    c = 6.0 * n * d
    iso = isoflop_fit(data)
    return LawFit(
        id=law_id,
        name=name,
        source=source,
        as_of=as_of,
        E=math.exp(e),
        A=math.exp(a),
        B=math.exp(b),
        alpha=al,
        beta=be,
        huber_delta=delta,
        objective=f,
        n_runs=int(n.size),
        params_range=(float(n.min()), float(n.max())),
        tokens_range=(float(d.min()), float(d.max())),
        flops_range=(float(c.min()), float(c.max())),
        loss_range=(float(lo.min()), float(lo.max())),
        interval_percentiles=percentiles,
        bootstrap_seed=seed,
        bootstrap=boot,
        warnings=tuple(warn),
        seed_noise=None if noise is None else noise[0],
        runs=tuple(
            (rid, float(ni), float(di), float(li))
            for rid, ni, di, li in zip(data.run_ids, n, d, lo, strict=True)
        ),
        isoflop=iso,
    )


# -- TOML (text in, text out; the CLI reads and writes the file) ---------------------------


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise CapacityError(f"cannot write a non-finite value {v!r}", field="law")
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def law_to_toml(fit: LawFit) -> str:
    """The fit as TOML: constants, ranges, warnings, runs and bootstrap samples."""
    doc = fit.model_dump(mode="python")
    iso = doc.pop("isoflop")
    runs = doc.pop("runs")
    boot = doc.pop("bootstrap")
    lines = [
        "# Scaling law L(N, D) = E + A/N^alpha + B/D^beta fitted by `capacity fit-law`",
        "# (Huber loss on log-loss, Hoffmann et al. 2022 Approach 3 / Besiroglu et al. 2024).",
        "# Use it with `capacity optimal --law THIS.toml`.",
    ]
    lines += [f"{k} = {_toml_value(v)}" for k, v in doc.items() if v is not None]
    lines.append("# Runs fitted: [id, params, tokens, final loss]")
    lines.append("runs = [")
    lines += [f"  {_toml_value(list(r))}," for r in runs]
    lines.append("]")
    lines.append("# Bootstrap refits over resampled runs: [E, A, B, alpha, beta]")
    lines.append("bootstrap = [")
    lines += [f"  {_toml_value(list(r))}," for r in boot]
    lines.append("]")
    if iso is not None:
        lines.append("")
        lines.append("[isoflop]  # Approach 2: N_opt = k C^a through the isoFLOP minima")
        for k in ("a", "k"):
            if iso[k] is not None:
                lines.append(f"{k} = {_toml_value(iso[k])}")
        for p in iso["profiles"]:
            lines.append("")
            lines.append("[[isoflop.profiles]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in p.items()]
    return "\n".join(lines) + "\n"


def law_from_toml(text: str, *, where: str = "law") -> LawFit:
    """Parse a law file written by `law_to_toml`; CapacityError naming the field otherwise."""
    import tomllib

    from pydantic import ValidationError

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CapacityError(f"'{where}' is not valid TOML: {exc}", field="law") from None
    try:
        fit = LawFit.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise CapacityError(f"'{where}': {loc}: {err['msg']}", field="law") from None
    _check_fields(doc, fit, where)
    _check_constants(
        dict(zip(_CONSTANTS, (fit.E, fit.A, fit.B, fit.alpha, fit.beta), strict=True)), where
    )
    for i, row in enumerate(fit.bootstrap):
        _check_constants(dict(zip(_CONSTANTS, row, strict=True)), where, f"bootstrap[{i}]: ")
    return fit


_CONSTANTS = ("E", "A", "B", "alpha", "beta")
_RANGES = ("params_range", "tokens_range", "flops_range", "loss_range")


def _non_finite(value: Any, path: str) -> str | None:
    """The key path of the first nan/inf in a parsed TOML value (TOML allows both)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found = _non_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def _check_fields(doc: dict[str, Any], fit: LawFit, where: str) -> None:
    """The fields a law file carries besides its constants: finite, positive, ordered."""
    bad = _non_finite(doc, "")
    if bad:
        raise CapacityError(f"'{where}': {bad}: must be a finite number", field="law")
    for name in _RANGES:
        lo, hi = getattr(fit, name)
        if not 0 < lo <= hi:
            raise CapacityError(
                f"'{where}': {name}: must be [low, high] with 0 < low <= high, "
                f"got [{lo:g}, {hi:g}]",
                field="law",
            )
    p0, p1 = fit.interval_percentiles
    if not 0 <= p0 < p1 <= 100:
        raise CapacityError(
            f"'{where}': interval_percentiles: must be [low, high] within 0-100, "
            f"got [{p0:g}, {p1:g}]",
            field="law",
        )
    if fit.n_runs < 1 or fit.huber_delta <= 0 or fit.objective < 0 or (fit.seed_noise or 0) < 0:
        raise CapacityError(
            f"'{where}': n_runs and huber_delta must be positive, objective and seed_noise "
            "not negative",
            field="law",
        )
    # both are spreads of log-loss: a value of 1 would be a factor e between runs
    if fit.huber_delta > 1 or (fit.seed_noise or 0) > 1 or fit.bootstrap_seed < 0:
        raise CapacityError(
            f"'{where}': huber_delta and seed_noise are at most 1 (log-loss), bootstrap_seed "
            "is not negative",
            field="law",
        )
    for i, (_name, n, d, loss) in enumerate(fit.runs):
        if not (n > 0 and d > 0 and loss > 0):
            raise CapacityError(
                f"'{where}': runs[{i}]: params, tokens and loss must be positive", field="law"
            )


# Ceiling of an irreducible loss, nats/token: a uniform guess over a 10^8-token vocabulary
# costs ln(1e8) = 18.4 nats, so no language model's loss floor lies above 20.
MAX_IRREDUCIBLE_LOSS = 20.0


def _check_constants(values: dict[str, float], where: str, label: str = "") -> None:
    """Refuse constants no law can have: not positive and finite, a loss floor above any
    model's, or an allocation that over- or underflows (A = 1e300 gives G = inf)."""
    bad = [k for k, v in values.items() if not (math.isfinite(v) and v > 0)]
    if bad:
        raise CapacityError(
            f"'{where}': {label}{', '.join(bad)} must be finite and > 0", field="law"
        )
    if values["E"] > MAX_IRREDUCIBLE_LOSS:
        raise CapacityError(
            f"'{where}': {label}E = {values['E']:g} nats is above any model's loss floor "
            f"(at most {MAX_IRREDUCIBLE_LOSS:g})",
            field="law",
        )
    law = ParametricLaw(id="check", name="check", source="", validity="", **values)
    try:
        ok = 0 < law.G < math.inf and 0 < law._k() < math.inf
    except ArithmeticError:
        ok = False
    if not ok:
        raise CapacityError(
            f"'{where}': {label}A, B, alpha and beta give no finite compute-optimal allocation "
            f"(A = {values['A']:g}, B = {values['B']:g}): not a law `capacity fit-law` writes",
            field="law",
        )
