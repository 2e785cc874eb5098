"""Shared typer options: every `ScenarioOptions` field becomes a flag of the commands
that describe a training run (estimate, plan, report, compare, optimal).

`scenario_command(exclude=...)` wraps a command `fn(opts: ScenarioOptions, **own)`:
the command's signature (what typer reads) is its own options followed by the
scenario options (less the excluded ones), and the call validates the scenario
options once (`ScenarioOptions.parse`) before `fn` runs. A new scenario option is a
new field of `capacity.inputs.ScenarioOptions` and nothing here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

from capacity.inputs import ScenarioOptions

# Options that are not about the run itself but every scenario command takes.
CatalogOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--catalog",
        help="Extra catalog folder (repeatable); its entries add to or override the built-in "
        "ones. Also read from CAPACITY_CATALOG_PATH.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def scenario_parameters(exclude: Iterable[str] = ()) -> list[inspect.Parameter]:
    """One keyword-only typer parameter per ScenarioOptions field, in field order."""
    skip = set(exclude)
    out = []
    for name, field in ScenarioOptions.model_fields.items():
        if name in skip:
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        decls = [str(d) for d in extra.get("cli", [])]  # type: ignore[union-attr]
        option = typer.Option(*decls, help=field.description)
        out.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=Annotated[field.annotation, option],
            )
        )
    return out


def scenario_command(
    exclude: Iterable[str] = (),
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give `fn(opts, **own)` the shared scenario options as typer flags."""
    excluded = set(exclude)

    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(fn, eval_str=True).parameters.values()
            if p.name != "opts"
        ]
        own_names = {p.name for p in own}
        shared = [p for p in scenario_parameters(excluded) if p.name not in own_names]
        shared_names = {p.name for p in shared}

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            given = {k: kwargs.pop(k) for k in list(kwargs) if k in shared_names}
            fn(ScenarioOptions.parse(**given), **kwargs)

        params = [*own, *shared]
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        # typer reads the evaluated annotations, not fn's (string) ones
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__
        return command

    return wrap
