"""Kaplan et al. 2020 joint scaling law L(N, D), kept for comparison only.

L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D  (Eq. 1.5; N non-embedding params,
D tokens, loss in nats/token), with Table 2's fit alpha_N=0.076, alpha_D=0.103,
N_c=6.4e13, D_c=1.8e13.

`KaplanLaw.compute_optimal` minimises Eq. 1.5 itself on the isoFLOP curve C = 6ND, so that
every law in the registry answers "the best (N, D) under *its own* loss" and the optimum is a
true minimum of `isoflop_curve`. Setting dL/dN = 0 with p = alpha_N/alpha_D gives the closed
form N* = (p N_c^p C / (6 D_c))^(1/(1+p)) (N* ∝ C^0.575), which is exact, so no grid search
is needed. The paper's own compute-efficient frontier (App. A Table 6 / Sec. 6,
N_opt ≈ 1.3e9 C[PF-day]^0.73) comes from the L(N, S) law with early stopping rather than from
Eq. 1.5; it is provided separately as `kaplan_allocation`. Both put far more weight on model
size than Chinchilla-style laws: use them to show the historical contrast, not to allocate.

References
----------
Kaplan et al. 2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capacity.scaling.parametric import FloatOrArray, as_positive, below_floor_error, out

PF_DAY_FLOPS = 8.64e19  # 1 PF-day = 1e15 FLOP/s * 86400 s (Kaplan et al. 2020, Sec. 1.3)


@dataclass(frozen=True)
class KaplanLaw:
    """Kaplan et al. 2020 Eq. 1.5 with the `ScalingLaw` interface.

    Parameters
    ----------
    alpha_N, alpha_D : float
        Exponents for parameters and data.
    N_c, D_c : float
        Critical scales, non-embedding params and tokens.
    """

    id: str = "kaplan"
    name: str = "Kaplan et al. 2020 joint law L(N, D)"
    alpha_N: float = 0.076
    alpha_D: float = 0.103
    N_c: float = 6.4e13
    D_c: float = 1.8e13
    source: str = (
        "Kaplan et al. 2020 (arXiv:2001.08361) Eq. 1.5 with the Table 2 fit "
        "(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13); N excludes embeddings"
    )
    validity: str = (
        "for comparison; not for allocation: fit on <=1.5B non-embedding params and "
        "WebText2 BPE tokens (losses not comparable with the other laws), superseded by "
        "Hoffmann et al. 2022"
    )

    @property
    def irreducible_loss(self) -> float:
        return 0.0

    @property
    def _p(self) -> float:
        return self.alpha_N / self.alpha_D

    def loss(self, N: npt.ArrayLike, D: npt.ArrayLike) -> FloatOrArray:
        """Predicted loss (nats/token) for N non-embedding params and D tokens (Eq. 1.5)."""
        n, d = as_positive(N, "params"), as_positive(D, "tokens")
        return out(((self.N_c / n) ** self._p + self.D_c / d) ** self.alpha_D)

    def compute_optimal(self, C: npt.ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
        """(N*, D*) minimising Eq. 1.5 under C = 6ND FLOPs (closed form, see module doc)."""
        c = as_positive(C, "flops")
        p = self._p
        n = (p * self.N_c**p * c / (6.0 * self.D_c)) ** (1.0 / (1.0 + p))
        return out(n), out(c / (6.0 * n))

    def optimal_loss(self, C: npt.ArrayLike) -> FloatOrArray:
        """Loss (nats/token) at the Eq. 1.5 isoFLOP minimum for C FLOPs."""
        n, d = self.compute_optimal(C)
        return self.loss(n, d)

    def isoflop_curve(self, C: float, N: npt.ArrayLike) -> FloatOrArray:
        """Loss along C = 6ND for the given N (params)."""
        n = as_positive(N, "params")
        return self.loss(n, float(as_positive(C, "flops")) / (6.0 * n))

    def _check(self, target: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t = np.asarray(target, dtype=np.float64)
        if not np.all(np.isfinite(t) & (t > 0)):
            raise below_floor_error(self.id, 0.0, target)
        return t

    def min_compute_for_loss(self, target: npt.ArrayLike) -> FloatOrArray:
        """Smallest C (FLOPs) whose Eq. 1.5 isoFLOP minimum reaches `target` (nats/token).

        At the optimum (N_c/N*)^p = t^(1/alpha_D)/(1+p), which inverts in closed form.
        """
        t, p = self._check(target), self._p
        n = self.N_c * (t ** (1.0 / self.alpha_D) / (1.0 + p)) ** (-1.0 / p)
        return out(6.0 * self.D_c * n ** (1.0 + p) / (p * self.N_c**p))

    def min_params_for_loss(self, target: npt.ArrayLike) -> FloatOrArray:
        """N below which `target` is unreachable with any D: N_c * target^(-1/alpha_N)."""
        return out(self.N_c * self._check(target) ** (-1.0 / self.alpha_N))

    def tokens_for_loss(self, N: npt.ArrayLike, target: npt.ArrayLike) -> FloatOrArray:
        """D with L(N, D) = target; +inf where N is too small to reach it."""
        n, t = as_positive(N, "params"), self._check(target)
        gap = t ** (1.0 / self.alpha_D) - (self.N_c / n) ** self._p
        with np.errstate(divide="ignore", invalid="ignore"):
            return out(np.where(gap > 0, self.D_c / gap, np.inf))


KAPLAN = KaplanLaw()

KAPLAN_TABLE6_COEF = 1.3e9  # params per PF-day^0.73, Kaplan et al. 2020 App. A Table 6
KAPLAN_TABLE6_EXP = 0.73


def kaplan_allocation(C: npt.ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """Kaplan's compute-efficient frontier N_opt ≈ 1.3e9 C[PF-day]^0.73, D = C/(6 N_opt).

    Parameters
    ----------
    C : array_like
        Training compute, FLOPs (converted with 1 PF-day = 8.64e19 FLOPs).

    Returns
    -------
    (N_opt, D) : non-embedding params, tokens.

    Notes
    -----
    Kaplan et al. quote this frontier in terms of C_min, the compute at the critical batch
    size; it is applied here to C directly, as is common in later comparisons.

    References
    ----------
    Kaplan et al. 2020 (arXiv:2001.08361), App. A Table 6 and Sec. 6.1.
    """
    c = as_positive(C, "flops")
    n = KAPLAN_TABLE6_COEF * (c / PF_DAY_FLOPS) ** KAPLAN_TABLE6_EXP
    return out(n), out(c / (6.0 * n))
