"""The numerical core of `capacity.scaling.fit`: Huber objective on log-loss, a batched
numpy L-BFGS, the starting grid and the bootstrap (Hoffmann et al. 2022 App. D.2; Besiroglu
et al. 2024 Sec. 2). Pure: no I/O."""

from __future__ import annotations

import itertools

import numpy as np

from capacity.scaling.parametric import FloatArray

HUBER_DELTA = 1e-3  # Hoffmann et al. 2022 App. D.2 (Eq. 11); Besiroglu et al. 2024 Sec. 2
# Starting grid of Hoffmann et al. 2022 App. D.2, also used by Besiroglu et al. 2024:
# alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}.
GRID_ALPHA = (0.0, 0.5, 1.0, 1.5, 2.0)
GRID_E = (-1.0, -0.5, 0.0, 0.5, 1.0)
GRID_AB = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
N_REFINED_STARTS = 24  # L-BFGS runs from the best grid points only (the grid has 4,500)
DEFAULT_BOOTSTRAPS = 200
# Each resample is a full L-BFGS refit (~1.3 ms CPU on examples/ablation_ladder.csv), so
# 2,000 take a few seconds; there two seeds of 2,000 gave P10-P90 bounds within 1 % for E,
# alpha and beta and within 7 % for B's upper bound. More would only cost time.
MAX_BOOTSTRAPS = 2_000

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
