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

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from capacity.errors import CapacityError
from capacity.scaling.parametric import FloatArray, ParametricLaw, as_positive

HUBER_DELTA = 1e-3  # Hoffmann et al. 2022 App. D.2 (Eq. 11); Besiroglu et al. 2024 Sec. 2
# Starting grid of Hoffmann et al. 2022 App. D.2, also used by Besiroglu et al. 2024:
# alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}.
GRID_ALPHA = (0.0, 0.5, 1.0, 1.5, 2.0)
GRID_E = (-1.0, -0.5, 0.0, 0.5, 1.0)
GRID_AB = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
N_REFINED_STARTS = 24  # L-BFGS runs from the best grid points only (the grid has 4,500)
INTERVAL_PERCENTILES = (10.0, 90.0)  # P10-P90, as Hoffmann et al. 2022 Table 2 reports
DEFAULT_BOOTSTRAPS = 200
MIN_SIZES = 3  # fewer distinct model sizes cannot separate E from A/N^alpha
MIN_RUNS = 6  # five parameters need more than five runs
MAX_RUNS = 5_000  # a ladder has tens of runs; this bounds memory (bootstraps x runs arrays)
MAX_BOOTSTRAPS = 20_000
MIN_LOSS_SPREAD = 0.03  # (max - min)/min of the losses; below this the curvature is noise
COLLINEAR_R = 0.995  # |corr(ln N, ln D)| above this: one tokens/param ratio, alpha ~ beta
ISOFLOP_REL_TOL = 0.10  # runs within 10 % of the same 6ND form one isoFLOP profile

_LBFGS_MEMORY = 10
_LBFGS_MAX_ITER = 400
_STEP_EXPONENTS = np.arange(6, -31, -1, dtype=np.float64)  # line-search steps 2^6 .. 2^-30


# -- objective ----------------------------------------------------------------------------


def _huber(r: FloatArray, delta: float) -> FloatArray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _objective(
    theta: FloatArray,
    x: FloatArray,
    y: FloatArray,
    logl: FloatArray,
    w: FloatArray,
    delta: float,
    grad: bool = False,
) -> tuple[FloatArray, FloatArray | None]:
    """Weighted Huber loss of log-loss residuals; theta (..., 5), w (..., n) run weights.

    Returns f (...) and, when `grad`, df/dtheta (..., 5).
    """
    a, b, e, al, be = (theta[..., k, None] for k in range(5))
    t1, t2 = a - al * x, b - be * y
    t3 = np.broadcast_to(e, t1.shape)
    m = np.maximum(np.maximum(t1, t2), t3)
    z1, z2, z3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(t3 - m)
    s = z1 + z2 + z3
    r = m + np.log(s) - logl
    f = np.sum(w * _huber(r, delta), axis=-1)
    if not grad:
        return f, None
    dr = w * np.clip(r, -delta, delta) / s
    g = np.stack(
        [
            np.sum(dr * z1, axis=-1),
            np.sum(dr * z2, axis=-1),
            np.sum(dr * z3, axis=-1),
            -np.sum(dr * z1 * x, axis=-1),
            -np.sum(dr * z2 * y, axis=-1),
        ],
        axis=-1,
    )
    return f, g


def _lbfgs(
    theta0: FloatArray,
    x: FloatArray,
    y: FloatArray,
    logl: FloatArray,
    w: FloatArray,
    delta: float,
) -> tuple[FloatArray, FloatArray]:
    """Batched L-BFGS: theta0 (B, 5), w (B, n). Returns (theta (B, 5), f (B,)).

    Two-loop recursion per row; the step is the best of 2^6..2^-30 along the direction
    (a grid line search: one vectorised evaluation, no per-row branching).
    """
    th = theta0.astype(np.float64).copy()
    nb = th.shape[0]
    f, g = _objective(th, x, y, logl, w, delta, grad=True)
    assert g is not None
    m = _LBFGS_MEMORY
    s_hist = np.zeros((m, nb, 5))
    y_hist = np.zeros((m, nb, 5))
    rho = np.zeros((m, nb))
    steps = 2.0**_STEP_EXPONENTS
    active = np.ones(nb, dtype=bool)
    for it in range(_LBFGS_MAX_ITER):
        q = g.copy()
        alphas = np.zeros((m, nb))
        order = [(it - 1 - k) % m for k in range(min(it, m))]  # newest first
        for j in order:
            alphas[j] = rho[j] * np.sum(s_hist[j] * q, axis=-1)
            q -= alphas[j, :, None] * y_hist[j]
        if order:
            j = order[0]
            yy = np.sum(y_hist[j] * y_hist[j], axis=-1)
            gamma = np.where((rho[j] > 0) & (yy > 0), 1.0 / np.maximum(rho[j] * yy, 1e-300), 1.0)
            q *= gamma[:, None]
        for j in reversed(order):
            beta_j = rho[j] * np.sum(y_hist[j] * q, axis=-1)
            q += (alphas[j] - beta_j)[:, None] * s_hist[j]
        p = -q
        descent = np.sum(p * g, axis=-1) < 0
        p = np.where(descent[:, None], p, -g)
        # Unit step first (L-BFGS usually takes it); a grid of steps only where it fails Armijo.
        th1 = th + p
        with np.errstate(all="ignore"):
            f1, _ = _objective(th1, x, y, logl, w, delta)
        f1 = np.where(np.isfinite(f1), f1, np.inf)
        slope = np.sum(p * g, axis=-1)
        f_new, th_try = f1, th1
        redo = np.flatnonzero(active & ~(f1 <= f + 1e-4 * slope))
        if redo.size:
            trial = th[None, redo] + steps[:, None, None] * p[None, redo]
            with np.errstate(all="ignore"):
                ft, _ = _objective(trial, x, y, logl, w[None, redo], delta)
            ft = np.where(np.isfinite(ft), ft, np.inf)
            k = np.argmin(ft, axis=0)
            f_new = f1.copy()
            th_try = th1.copy()
            f_new[redo] = ft[k, np.arange(redo.size)]
            th_try[redo] = trial[k, np.arange(redo.size)]
        better = active & (f_new < f)
        if not better.any():
            break
        th_new = np.where(better[:, None], th_try, th)
        f_new = np.where(better, f_new, f)
        _, g_new = _objective(th_new, x, y, logl, w, delta, grad=True)
        assert g_new is not None
        s_k, y_k = th_new - th, g_new - g
        sy = np.sum(s_k * y_k, axis=-1)
        slot = it % m
        ok = better & (sy > 1e-300)
        s_hist[slot] = np.where(ok[:, None], s_k, 0.0)
        y_hist[slot] = np.where(ok[:, None], y_k, 0.0)
        rho[slot] = np.where(ok, 1.0 / np.where(ok, sy, 1.0), 0.0)
        # Converged rows: relative decrease below 1e-13 (f is a sum of tiny Huber terms).
        active &= better & (f - f_new > 1e-13 * np.maximum(np.abs(f), 1e-300))
        th, f, g = th_new, f_new, g_new
    return th, f


# -- data checks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunData:
    """The runs to fit: parameters, tokens and final loss per run (1-d, same length)."""

    params: FloatArray
    tokens: FloatArray
    loss: FloatArray
    run_ids: tuple[str, ...]


def run_data(
    params: npt.ArrayLike,
    tokens: npt.ArrayLike,
    loss: npt.ArrayLike,
    run_ids: Sequence[str] | None = None,
) -> RunData:
    """Validate and pack runs; CapacityError naming the field on non-positive values."""
    n, d, lo = (
        np.atleast_1d(as_positive(v, f))
        for v, f in ((params, "params"), (tokens, "tokens"), (loss, "loss"))
    )
    if not (n.shape == d.shape == lo.shape) or n.ndim != 1:
        raise CapacityError("params, tokens and loss need one value per run", field="runs")
    if n.size > MAX_RUNS:
        raise CapacityError(
            f"{n.size:,} runs: at most {MAX_RUNS:,} (a ladder has tens)", field="runs"
        )
    ids = tuple(run_ids) if run_ids is not None else tuple(f"run{i + 1}" for i in range(n.size))
    if len(ids) != n.size:
        raise CapacityError("one run id per run", field="run_id")
    return RunData(params=n, tokens=d, loss=lo, run_ids=ids)


def identifiability(data: RunData) -> tuple[list[str], list[str]]:
    """(refusals, warnings) about whether the runs can pin down E, A, B, alpha and beta.

    Each message says what is missing and which runs would help.
    """
    refuse: list[str] = []
    warn: list[str] = []
    n, d, lo = data.params, data.tokens, data.loss
    sizes = np.unique(np.round(np.log(n), 3))
    budgets = np.unique(np.round(np.log(d), 3))
    n_sorted = np.sort(np.exp(sizes))
    if n.size < MIN_RUNS:
        refuse.append(
            f"{n.size} runs for 5 constants: need at least {MIN_RUNS}; run each size at a "
            "second token budget"
        )
    if sizes.size < MIN_SIZES:
        refuse.append(
            f"{sizes.size} distinct model size(s): need at least {MIN_SIZES} to separate E from "
            f"A/N^alpha; add sizes between {_h(n_sorted[0] / 4)} and {_h(n_sorted[-1] * 2)}"
        )
    elif sizes.size < 5:
        warn.append(
            f"only {sizes.size} distinct model sizes: alpha and E trade off; 5-6 sizes spaced "
            "~2x apart identify them"
        )
    if budgets.size < 2:
        refuse.append(
            f"one token budget ({_h(float(d[0]))} tokens) for every run: B and beta cannot be "
            f"fitted; rerun some sizes at {_h(float(d[0]) * 4)} tokens"
        )
    elif n.size >= 3 and np.std(np.log(n)) > 0 and np.std(np.log(d)) > 0:
        corr = float(np.corrcoef(np.log(n), np.log(d))[0, 1])
        if abs(corr) > COLLINEAR_R:
            ratio = float(np.median(d / n))
            refuse.append(
                f"every run has the same ~{ratio:.0f} tokens/param (corr(ln N, ln D) = "
                f"{corr:.3f}): size and data effects cannot be told apart; add runs at "
                f"{ratio / 4:.0f} and {ratio * 4:.0f} tokens/param"
            )
    spread = float((lo.max() - lo.min()) / lo.min())
    if spread < MIN_LOSS_SPREAD:
        refuse.append(
            f"losses span only {spread:.1%} ({lo.min():.3f}-{lo.max():.3f}): too narrow to fit "
            "a curve; widen the ladder (a 4x smaller and a 4x larger size)"
        )
    elif spread < 3 * MIN_LOSS_SPREAD:
        warn.append(f"losses span only {spread:.1%}: the constants will be loose")
    for s in np.exp(sizes):
        at = np.isclose(np.log(n), np.log(s), atol=1e-3)
        if np.unique(np.round(np.log(d[at]), 3)).size < 2 and budgets.size >= 2 and sizes.size <= 4:
            warn.append(f"size {_h(float(s))} has one token budget: a second one tightens beta")
            break
    return refuse, warn


def seed_noise(data: RunData) -> tuple[float, int] | None:
    """Seed-to-seed spread of the loss: pooled SD of log-loss over configurations run more
    than once (same N and D), and how many such configurations; None without repeats."""
    key = np.round(np.log(data.params), 4) * 1e3 + np.round(np.log(data.tokens), 4)
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    rep = counts[inv] > 1
    if not rep.any():
        return None
    logl = np.log(data.loss)
    means = np.bincount(inv, weights=logl) / counts
    resid = (logl - means[inv])[rep]
    dof = int(np.sum(counts[counts > 1] - 1))
    return float(np.sqrt(np.sum(resid**2) / dof)), int(np.sum(counts > 1))


def _h(x: float) -> str:
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


# -- the fit ----------------------------------------------------------------------------


def _start_grid() -> FloatArray:
    grid = itertools.product(GRID_AB, GRID_AB, GRID_E, GRID_ALPHA, GRID_ALPHA)
    return np.array(list(grid), dtype=np.float64)


def fit_theta(
    params: FloatArray,
    tokens: FloatArray,
    loss: FloatArray,
    *,
    delta: float = HUBER_DELTA,
    starts: int = N_REFINED_STARTS,
) -> tuple[FloatArray, float]:
    """Best (a, b, e, alpha, beta) and its objective: grid of starts, L-BFGS from the best."""
    x, y, logl = np.log(params), np.log(tokens), np.log(loss)
    grid = _start_grid()
    w = np.ones((1, x.size))
    chunk = max(1, 2_000_000 // x.size)  # bounded temporaries for long run lists
    with np.errstate(all="ignore"):
        f0 = np.concatenate(
            [
                _objective(grid[i : i + chunk], x, y, logl, w, delta)[0]
                for i in range(0, grid.shape[0], chunk)
            ]
        )
    f0 = np.where(np.isfinite(f0), f0, np.inf)
    best = grid[np.argsort(f0, kind="stable")[:starts]]
    th, f = _lbfgs(best, x, y, logl, np.ones((best.shape[0], x.size)), delta)
    i = int(np.argmin(f))
    return th[i], float(f[i])


def bootstrap_thetas(
    theta: FloatArray,
    params: FloatArray,
    tokens: FloatArray,
    loss: FloatArray,
    *,
    n_boot: int = DEFAULT_BOOTSTRAPS,
    seed: int = 0,
    delta: float = HUBER_DELTA,
) -> FloatArray:
    """(n_boot, 5) refits on runs resampled with replacement, each started at `theta`."""
    n = params.size
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    counts = np.zeros((n_boot, n))
    np.add.at(counts, (np.arange(n_boot)[:, None], idx), 1.0)
    x, y, logl = np.log(params), np.log(tokens), np.log(loss)
    th, _ = _lbfgs(np.tile(theta, (n_boot, 1)), x, y, logl, counts, delta)
    return th


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
            f"fit on {self.n_runs} runs, {_h(n0)}-{_h(n1)} params, {_h(d0)}-{_h(d1)} tokens "
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
    bad = [k for k in ("E", "A", "B", "alpha", "beta") if not getattr(fit, k) > 0]
    if bad or not all(math.isfinite(getattr(fit, k)) for k in ("E", "A", "B", "alpha", "beta")):
        raise CapacityError(f"'{where}': {', '.join(bad) or 'constants'} must be > 0", field="law")
    return fit
