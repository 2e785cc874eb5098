"""capacity: plan the compute of a large-language-model training run.

Python API (imported lazily, so that `import capacity` stays cheap)::

    import capacity
    cat = capacity.load_catalog()
    scn = capacity.Scenario(model=cat.model("llama-2-7b"), tokens=2e12,
                            system=capacity.resolve_system(cat, "leonardo-booster"),
                            n_gpus=256, calibration=cat.efficiency.get("calibration"))
    est = capacity.estimate_run(scn)        # a frozen pydantic model; est.to_json()
    capacity.estimates_frame([est])         # a pandas DataFrame

The CLI's options as one validated model: ``capacity.ScenarioOptions.parse(tokens="2T",
global_batch="auto")``; ``compare_scenario(template, systems)`` runs one template scenario on
several systems.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module, or (module, name in it); `estimate` and `compare` are also submodule
# names, so the functions are exported as estimate_run and compare_systems.
_EXPORTS: dict[str, str | tuple[str, str]] = {
    "load_catalog": "capacity.catalog.loader",
    "Catalog": "capacity.catalog.loader",
    "resolve_system": "capacity.system",
    "all_systems": "capacity.system",
    "Scenario": "capacity.estimate",
    "ScenarioOptions": "capacity.inputs",
    "compare_scenario": "capacity.compare",
    "estimate_with_plan": "capacity.estimate",
    "Estimate": "capacity.estimate",
    "estimate_run": ("capacity.estimate", "estimate"),
    "plan_scenario": "capacity.estimate",
    "compare_systems": ("capacity.compare", "compare"),
    "optimal_for_budget": "capacity.budget_optimal",
    "parse_budget": "capacity.budget",
    "model_from_params": "capacity.workload",
    "param_counts": "capacity.workload",
    "flops_per_token": "capacity.flops",
    "spec_from_hf_config": "capacity.hf_config",
    "estimates_frame": "capacity.frames",
    "compare_frame": "capacity.frames",
    "validation_frame": "capacity.frames",
    "CapacityError": "capacity.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'capacity' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    return getattr(importlib.import_module(module), attr)
