"""Chinchilla-form scaling laws L(N, D) = E + A/N^alpha + B/D^beta, and shared numerics.

Units throughout: N in parameters, D in training tokens, C in FLOPs (C = 6ND),
loss in nats/token.

References
----------
Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", arXiv:2203.15556.
Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt", arXiv:2404.10102.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from capacity.errors import CapacityError

FloatArray = npt.NDArray[np.float64]
FloatOrArray = float | FloatArray


def as_positive(x: npt.ArrayLike, field: str) -> FloatArray:
    """Return `x` as a float64 array; raise CapacityError unless every entry is finite and > 0."""
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a) & (a > 0)):
        raise CapacityError(f"must be finite and > 0, got {x!r}", field=field)
    return a


def out(x: Any) -> FloatOrArray:
    """A 0-d result as a Python float, anything else as a float64 array."""
    a = np.asarray(x, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def minimize_on_log_grid(
    f: Callable[[FloatArray], FloatArray],
    lo: npt.ArrayLike,
    hi: npt.ArrayLike,
    *,
    points: int = 129,
    rounds: int = 7,
) -> FloatArray:
    """Minimise `f` over x in [lo, hi], elementwise over the shape of lo/hi (x is usually ln N).

    Each round evaluates f on a grid of `points` along a new last axis, keeps the two cells
    around the argmin and repeats; the bracket shrinks by (points-1)/2 per round. `f` gets an
    array of shape lo.shape + (points,); non-finite values count as +inf.
    """
    lo_a, hi_a = np.broadcast_arrays(np.asarray(lo, np.float64), np.asarray(hi, np.float64))
    lo_a, hi_a = lo_a.copy(), hi_a.copy()
    t = np.linspace(0.0, 1.0, points)
    best = 0.5 * (lo_a + hi_a)
    for _ in range(rounds):
        x = lo_a[..., None] + (hi_a - lo_a)[..., None] * t
        with np.errstate(all="ignore"):
            v = np.asarray(f(x), dtype=np.float64)
        v = np.where(np.isfinite(v), v, np.inf)
        i = np.argmin(v, axis=-1)[..., None]
        best = np.take_along_axis(x, i, axis=-1)[..., 0]
        lo_a = np.take_along_axis(x, np.clip(i - 1, 0, points - 1), axis=-1)[..., 0]
        hi_a = np.take_along_axis(x, np.clip(i + 1, 0, points - 1), axis=-1)[..., 0]
    return best


def below_floor_error(law_id: str, floor: float, target: npt.ArrayLike) -> CapacityError:
    """The CapacityError(field="target_loss") for a target at or below a law's floor E."""
    shown = np.asarray(target, dtype=np.float64)
    return CapacityError(
        f"target loss {shown} nats/token is at or below the irreducible loss E={floor:.4f} "
        f"of law '{law_id}'; no finite model or data reaches it",
        field="target_loss",
    )


@runtime_checkable
class ScalingLaw(Protocol):
    """What planners need from a scaling law; all methods broadcast over numpy arrays."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def validity(self) -> str: ...
    @property
    def irreducible_loss(self) -> float: ...

    def loss(self, N: npt.ArrayLike, D: npt.ArrayLike) -> FloatOrArray: ...
    def compute_optimal(self, C: npt.ArrayLike) -> tuple[FloatOrArray, FloatOrArray]: ...
    def optimal_loss(self, C: npt.ArrayLike) -> FloatOrArray: ...
    def isoflop_curve(self, C: float, N: npt.ArrayLike) -> FloatOrArray: ...
    def min_compute_for_loss(self, target: npt.ArrayLike) -> FloatOrArray: ...
    def tokens_for_loss(self, N: npt.ArrayLike, target: npt.ArrayLike) -> FloatOrArray: ...
    def min_params_for_loss(self, target: npt.ArrayLike) -> FloatOrArray: ...


@dataclass(frozen=True)
class ParametricLaw:
    """L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, Eq. 2).

    Parameters
    ----------
    id, name : str
        Registry key and human-readable name.
    E : float
        Irreducible loss, nats/token.
    A, B, alpha, beta : float
        Model-size and data terms; N in parameters, D in tokens.
    source, validity : str
        Publication (paper + equation/table) and the range the fit is trusted on.
    """

    id: str
    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str
    validity: str

    @property
    def irreducible_loss(self) -> float:
        return self.E

    @property
    def G(self) -> float:
        """G = (alpha*A / (beta*B))^(1/(alpha+beta)) (Hoffmann et al. 2022, Eq. 4)."""
        return float((self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta)))

    @property
    def a(self) -> float:
        """Exponent of N_opt in C: beta/(alpha+beta)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """Exponent of D_opt in C: alpha/(alpha+beta)."""
        return self.alpha / (self.alpha + self.beta)

    def loss(self, N: npt.ArrayLike, D: npt.ArrayLike) -> FloatOrArray:
        """Predicted loss (nats/token) of N parameters trained on D tokens."""
        n, d = as_positive(N, "params"), as_positive(D, "tokens")
        return out(self.E + self.A / n**self.alpha + self.B / d**self.beta)

    def compute_optimal(self, C: npt.ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        """(N_opt, D_opt) minimising loss under C = 6ND FLOPs (Hoffmann et al. 2022, Eq. 4)."""
        c6 = as_positive(C, "flops") / 6.0
        return out(self.G * c6**self.a), out(c6**self.b / self.G)

    # L_opt(C) = E + K (C/6)^-gamma, gamma = alpha*beta/(alpha+beta), since alpha*a == beta*b
    def _k(self) -> float:
        return float(self.A * self.G ** (-self.alpha) + self.B * self.G**self.beta)

    @property
    def _gamma(self) -> float:
        return self.alpha * self.beta / (self.alpha + self.beta)

    def optimal_loss(self, C: npt.ArrayLike) -> FloatOrArray:
        """Loss (nats/token) of the compute-optimal model at C FLOPs."""
        c6 = as_positive(C, "flops") / 6.0
        return out(self.E + self._k() * c6 ** (-self._gamma))

    def isoflop_curve(self, C: float, N: npt.ArrayLike) -> FloatOrArray:
        """Loss along the isoFLOP curve: N parameters trained on D = C/(6N) tokens."""
        n = as_positive(N, "params")
        return self.loss(n, float(as_positive(C, "flops")) / (6.0 * n))

    def _target(self, target: npt.ArrayLike) -> FloatArray:
        t = np.asarray(target, dtype=np.float64)
        if not np.all(np.isfinite(t) & (t > self.E)):
            raise below_floor_error(self.id, self.E, target)
        return t

    def min_compute_for_loss(self, target: npt.ArrayLike) -> FloatOrArray:
        """Smallest C (FLOPs) whose compute-optimal loss reaches `target` (nats/token)."""
        t = self._target(target)
        return out(6.0 * ((t - self.E) / self._k()) ** (-1.0 / self._gamma))

    def min_params_for_loss(self, target: npt.ArrayLike) -> FloatOrArray:
        """N below which `target` is out of reach with any D: (A/(target-E))^(1/alpha)."""
        return out((self.A / (self._target(target) - self.E)) ** (1.0 / self.alpha))

    def tokens_for_loss(self, N: npt.ArrayLike, target: npt.ArrayLike) -> FloatOrArray:
        """D with L(N, D) = target; +inf where N is too small to reach it."""
        n, t = as_positive(N, "params"), self._target(target)
        gap = t - self.E - self.A / n**self.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            return out(np.where(gap > 0, (self.B / gap) ** (1.0 / self.beta), np.inf))


CHINCHILLA = ParametricLaw(
    id="chinchilla",
    name="Chinchilla Approach 3 (Hoffmann et al. 2022)",
    # Unrounded fit as in the TeX source (log-space A, B, E), quoted by Besiroglu et al. 2024:
    # E=1.6934, A=406.40, B=410.72, alpha=0.33917084, beta=0.2849083.
    E=math.exp(0.5267228),
    A=math.exp(6.0073404),
    B=math.exp(6.0179186),
    alpha=0.33917084,
    beta=0.2849083,
    source=(
        "Hoffmann et al. 2022 (arXiv:2203.15556) App. D.2 Eq. 10, printed rounded as "
        "E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28; unrounded values from the TeX source "
        "as used by Besiroglu et al. 2024 (arXiv:2404.10102)"
    ),
    validity=(
        "fit on 70M-16B params, 5B-500B tokens (MassiveText); biased toward small models: "
        "~40B at 5.76e23 FLOPs vs ~67B from its own Approaches 1/2 (Besiroglu et al. 2024)"
    ),
)

EPOCH = ParametricLaw(
    id="epoch",
    name="Chinchilla replication (Besiroglu et al. 2024, Epoch AI)",
    E=1.8172,
    A=482.01,
    B=2085.43,
    alpha=0.3478,
    beta=0.3658,
    source=(
        "Besiroglu et al. 2024 (arXiv:2404.10102) Sec. 3, refit of Hoffmann et al.'s Approach 3 "
        "on data reconstructed from their Fig. 4"
    ),
    validity=(
        "default: agrees with Hoffmann et al. Approaches 1/2 (~20 tokens/param); data span "
        "70M-16B params, so allocations far above ~1e24 FLOPs are extrapolations"
    ),
)

# Hoffmann et al. 2022 Table 3 (Approach 1 estimates): (params, FLOPs, tokens).
CHINCHILLA_TABLE3: tuple[tuple[float, float, float], ...] = (
    (400e6, 1.92e19, 8.0e9),
    (1e9, 1.21e20, 20.2e9),
    (10e9, 1.23e22, 205.1e9),
    (67e9, 5.76e23, 1.5e12),
    (175e9, 3.85e24, 3.7e12),
    (280e9, 9.90e24, 5.9e12),
    (520e9, 3.43e25, 11.0e12),
    (1e12, 1.27e26, 21.2e12),
    (10e12, 1.30e28, 216.2e12),
)
CHINCHILLA_APPROACH1_A = 0.50  # N_opt ∝ C^a, Hoffmann et al. 2022 Table 2, Approach 1
CHINCHILLA_APPROACH1_B = 0.50  # D_opt ∝ C^b, idem (= 1 - a under C = 6ND)


def _approach1_coefficient() -> float:
    """k in N_opt = k C^0.5, D_opt = C/(6 N_opt), least squares in log N and log D on Table 3."""
    n, c, d = (np.array(col) for col in zip(*CHINCHILLA_TABLE3, strict=True))
    from_n = np.mean(np.log(n) - CHINCHILLA_APPROACH1_A * np.log(c))
    from_d = np.mean(np.log(6.0 * d) - (1.0 - CHINCHILLA_APPROACH1_A) * np.log(c))
    return float(np.exp(0.5 * (from_n - from_d)))


CHINCHILLA_APPROACH1_K = _approach1_coefficient()  # ≈ 0.0891 params/FLOP^0.5


def chinchilla_approach1_allocation(C: npt.ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """Compute-optimal (params, tokens) from Chinchilla's Approach 1 power laws.

    N_opt = k C^0.50 and D_opt = C/(6 N_opt) (so D_opt ∝ C^0.50), with k anchored to the rows
    of Table 3 by least squares in log space.

    Parameters
    ----------
    C : array_like
        Training compute, FLOPs.

    Returns
    -------
    (N_opt, D_opt) : params, tokens.

    References
    ----------
    Hoffmann et al. 2022 (arXiv:2203.15556), Table 2 (a=0.50, b=0.50) and Table 3.
    """
    c = as_positive(C, "flops")
    n = CHINCHILLA_APPROACH1_K * c**CHINCHILLA_APPROACH1_A
    return out(n), out(c / (6.0 * n))
