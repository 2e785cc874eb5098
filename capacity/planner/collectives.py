"""Cost of collective operations: ring and tree formulas (NCCL-tests conventions).

For a group of n GPUs exchanging a buffer of S bytes (the full, unsharded
buffer) over links of B bytes/s per GPU and direction, with per-hop latency a
(NCCL-tests doc/PERFORMANCE.md; Thakur, Rabenseifner & Gropp 2005):

* all-reduce:              2 (n-1)/n * S / B  +  a * min(2 (n-1), 2 ceil(log2 n))
* reduce-scatter, gather:    (n-1)/n * S / B  +  a * min(n-1, ceil(log2 n))
* all-to-all:                (n-1)/n * S / B  +  a * (n-1)
* point-to-point:                      S / B  +  a

The bandwidth term is the ring algorithm's, which is bandwidth-optimal and what
a double binary tree also reaches for large buffers; the latency term takes the
better of ring (linear in n) and tree (logarithmic in n), as NCCL picks the
algorithm by size. Each function returns (bandwidth seconds at 100 % link
efficiency, number of latency hops), so the efficiency and the latency of the
fabric can be applied later (`capacity.planner.step_time`), per candidate.
All arguments broadcast (numpy arrays over candidate layouts).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[np.float64]
ArrLike = npt.ArrayLike


def _n(n: ArrLike) -> Arr:
    return np.maximum(np.asarray(n, dtype=float), 1.0)


def _log_hops(n: Arr) -> Arr:
    return np.ceil(np.log2(n))


def all_reduce(size_b: ArrLike, n: ArrLike, link_b_per_s: ArrLike) -> tuple[Arr, Arr]:
    """Ring all-reduce: (bandwidth seconds, latency hops); zero for a group of one."""
    nn = _n(n)
    bw = 2 * (nn - 1) / nn * np.asarray(size_b, dtype=float) / np.asarray(link_b_per_s)
    return bw, np.minimum(2 * (nn - 1), 2 * _log_hops(nn))


def reduce_scatter(size_b: ArrLike, n: ArrLike, link_b_per_s: ArrLike) -> tuple[Arr, Arr]:
    """Ring reduce-scatter of a full buffer of `size_b` bytes: (seconds, latency hops)."""
    nn = _n(n)
    bw = (nn - 1) / nn * np.asarray(size_b, dtype=float) / np.asarray(link_b_per_s)
    return bw, np.minimum(nn - 1, _log_hops(nn))


all_gather = reduce_scatter  # same volume and hops (the gathered buffer is `size_b`)


def all_to_all(size_b: ArrLike, n: ArrLike, link_b_per_s: ArrLike) -> tuple[Arr, Arr]:
    """All-to-all where each GPU holds `size_b` bytes to spread over the group."""
    nn = _n(n)
    bw = (nn - 1) / nn * np.asarray(size_b, dtype=float) / np.asarray(link_b_per_s)
    return bw, nn - 1


def point_to_point(size_b: ArrLike, link_b_per_s: ArrLike) -> tuple[Arr, Arr]:
    """One send of `size_b` bytes to a neighbour."""
    bw = np.asarray(size_b, dtype=float) / np.asarray(link_b_per_s)
    return bw, np.ones_like(bw)


def collective_seconds(
    bw_s: ArrLike, hops: ArrLike, efficiency: ArrLike, latency_s: ArrLike
) -> Arr:
    """Time of a collective from its ideal bandwidth time, hop count and fabric figures."""
    return np.asarray(bw_s) / np.asarray(efficiency) + np.asarray(hops) * np.asarray(latency_s)
