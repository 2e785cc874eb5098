"""Which queue (Slurm QoS) a job runs in, and the wall time that chains it.

A partition lists its QoS with their wall time and size limits (`[[partitions.queues]]`).
A job goes to a queue that admits its size: production queues before debug ones, those
open to every project before those needing a request, then the longest wall time
(fewest links in a job chain). Without queue rules the partition's max_wall_time_h and
max_nodes_per_job apply, as before.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import Queue
from capacity.system import System


class QueueChoice(BaseModel):
    """The queue a job of `nodes` nodes runs in (None when the partition lists none)."""

    model_config = ConfigDict(frozen=True)

    queue: Queue | None
    wall_limit_h: float | None
    admits: bool  # False: no queue of the partition takes a job this size
    message: str | None = None

    @property
    def name(self) -> str | None:
        return None if self.queue is None else self.queue.id

    @property
    def needs_qos_flag(self) -> bool:
        return self.queue is not None and not self.queue.default

    @property
    def special_access(self) -> str | None:
        return None if self.queue is None else self.queue.special_access


def admits(q: Queue, nodes: float, gpus: float) -> bool:
    if q.min_nodes is not None and nodes < q.min_nodes:
        return False
    if q.max_nodes is not None and nodes > q.max_nodes:
        return False
    return q.max_gpus is None or gpus <= q.max_gpus


def limits(q: Queue, gpus_per_node: int) -> str:
    """'65-256 nodes, 24 h' in the queue's own terms."""
    size = []
    if q.min_nodes is not None and q.max_nodes is not None:
        size.append(f"{q.min_nodes}-{q.max_nodes} nodes")
    elif q.max_nodes is not None:
        size.append(f"up to {q.max_nodes} nodes")
    elif q.min_nodes is not None:
        size.append(f"from {q.min_nodes} nodes")
    if q.max_gpus is not None:
        size.append(f"up to {q.max_gpus} GPUs")
    return ", ".join([*size, f"{q.max_wall_time_h:g} h"])


def choose_queue(system: System, nodes: float, wall_h: float | None = None) -> QueueChoice:
    """The queue a job of `nodes` whole nodes runs in, and the wall time that chains it.

    With the run's wall-clock `wall_h`, a queue that holds the whole run wins (the default
    one first: a 2-hour job stays in the normal QoS); otherwise the longest wall time."""
    if not system.queues:
        return QueueChoice(queue=None, wall_limit_h=system.max_wall_time_h, admits=True)
    gpus = nodes * system.gpus_per_node
    fit = [q for q in system.queues if admits(q, nodes, gpus)]
    if not fit:
        listed = "; ".join(f"{q.id} ({limits(q, system.gpus_per_node)})" for q in system.queues)
        return QueueChoice(
            queue=None,
            wall_limit_h=system.max_wall_time_h,
            admits=False,
            message=f"no QoS of {system.name} admits {nodes:g} nodes: {listed}",
        )

    def rank(q: Queue) -> tuple[bool, bool, bool, bool, float]:
        short = wall_h is not None and q.max_wall_time_h < wall_h
        covers = not short and wall_h is not None
        default_first = not q.default if covers else False
        return (q.debug, q.special_access is not None, short, default_first, -q.max_wall_time_h)

    best = min(fit, key=rank)
    return QueueChoice(
        queue=best, wall_limit_h=best.max_wall_time_h, admits=True, message=describe(best, system)
    )


def describe(q: Queue, system: System) -> str:
    word = "QoS" if q.kind == "qos" else "partition"
    text = f"{word} {q.id} ({limits(q, system.gpus_per_node)})"
    if not q.default:
        text += f": not the default, submit with --{q.kind}={q.id}"
    if q.special_access:
        text += f"; needs {q.special_access}"
    return text
