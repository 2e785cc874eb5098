"""One training run spread over several sites joined by a wide-area network (WAN).

Each site runs data-parallel replicas with its own best layout (the single-site
`estimate` path on its share of the batch) and the sites synchronise with one of:

- `ddp`: plain synchronous data parallel across the WAN, a gradient all-reduce every
  step. Shown to explain why it fails: even with the transfer fully hidden behind the
  step, the WAN time per step dwarfs the compute.
- `diloco` (Douillard et al. 2023, arXiv:2311.08105): each site is one DiLoCo replica,
  takes H inner steps alone, then the sites all-reduce their pseudo-gradients (the
  parameter change) once, blocking.
- `streaming` (Douillard et al. 2025, arXiv:2501.18512): the model is synced in
  fragments of 3 layers at staggered times, each transfer overlapping tau inner steps,
  with FP4 pseudo-gradients.

Heterogeneous sites: the slowest site bounds every synchronous step, so the global
batch is split in proportion to each site's throughput (the balanced split); the
proportional-to-GPUs split is reported beside it. The quality cost of DiLoCo against
synchronous training comes from the papers' tables (valid ranges stated; outside them
the result says so) and is turned into extra tokens, hence hours, with the Epoch
scaling law.

The quality tables were transcribed from the papers by the project's research sheet
(shared/research/wan_multisite_2026-12.md); the abstracts' headline figures were checked
at the source, the table cells were not re-read in the PDFs.

Modules: `wan` (payloads, all-reduce time, exposed time, utilisation), `quality` (the
published penalty tables, token efficiency), `models` (request and result), `plan`
(`multisite_estimate`). The names below are re-exported from them.
"""

from __future__ import annotations

from capacity.multisite.models import (
    MultiSiteEstimate,
    MultiSiteRequest,
    Quality,
    SiteRequest,
    SiteRun,
)
from capacity.multisite.plan import (
    BALANCE_ROUNDS,
    BALANCE_TOLERANCE,
    UTILISATION_TARGETS,
    check_sites,
    multisite_estimate,
)
from capacity.multisite.quality import (
    H_HIGH,
    H_LOW,
    H_PENALTY_PCT,
    H_SOURCE,
    PENALTY_PARAMS,
    PENALTY_PCT_H30,
    PENALTY_SOURCE,
    TOKENS_PER_PARAM_OF_TABLES,
    extra_tokens_for_same_loss,
    quality_penalty_pct,
    token_efficiency,
)
from capacity.multisite.wan import (
    ASSUMED_WAN_GBIT_PER_S,
    BITS_PER_BYTE,
    DEFAULT_INNER_STEPS,
    DEFAULT_PAYLOAD,
    STREAMING_LAYERS_PER_FRAGMENT,
    STREAMING_OVERLAP_STEPS,
    SYNC_METHODS,
    WAN_BYTES,
    WAN_LATENCY_S,
    SyncMethod,
    WanPrecision,
    allreduce_bytes,
    allreduce_s,
    bandwidth_for,
    exposed_s,
    traffic_reduction,
    utilisation,
)

__all__ = [
    "ASSUMED_WAN_GBIT_PER_S",
    "BALANCE_ROUNDS",
    "BALANCE_TOLERANCE",
    "BITS_PER_BYTE",
    "DEFAULT_INNER_STEPS",
    "DEFAULT_PAYLOAD",
    "H_HIGH",
    "H_LOW",
    "H_PENALTY_PCT",
    "H_SOURCE",
    "PENALTY_PARAMS",
    "PENALTY_PCT_H30",
    "PENALTY_SOURCE",
    "STREAMING_LAYERS_PER_FRAGMENT",
    "STREAMING_OVERLAP_STEPS",
    "SYNC_METHODS",
    "TOKENS_PER_PARAM_OF_TABLES",
    "UTILISATION_TARGETS",
    "WAN_BYTES",
    "WAN_LATENCY_S",
    "MultiSiteEstimate",
    "MultiSiteRequest",
    "Quality",
    "SiteRequest",
    "SiteRun",
    "SyncMethod",
    "WanPrecision",
    "allreduce_bytes",
    "allreduce_s",
    "bandwidth_for",
    "check_sites",
    "exposed_s",
    "extra_tokens_for_same_loss",
    "multisite_estimate",
    "quality_penalty_pct",
    "token_efficiency",
    "traffic_reduction",
    "utilisation",
]
