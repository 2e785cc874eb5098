"""The `capacity` command line. Commands are thin: parse, call the core, print."""

from __future__ import annotations

import sys

import typer

from capacity import __version__
from capacity.cli import (
    catalog_cmd,
    compare_cmd,
    estimate_cmd,
    fitlaw_cmd,
    optimal_cmd,
    plan_cmd,
    proposal_cmd,
    report_cmd,
    validate_cmd,
)

app = typer.Typer(
    name="capacity",
    help=(
        "Plan the compute of a large-language-model training run: time, GPU- and node-hours, "
        "cost, energy, CO2 and memory fit on HPC systems and clouds.\n\n"
        "Start with `capacity estimate` (a built-in default scenario) or "
        "`capacity estimate --help`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"capacity {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """capacity: LLM training compute planner."""


estimate_cmd.register(app)
plan_cmd.register(app)
validate_cmd.register(app)
catalog_cmd.register(app)
optimal_cmd.register(app)
fitlaw_cmd.register(app)
compare_cmd.register(app)
report_cmd.register(app)
proposal_cmd.register(app)


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit code 2."""
    from pydantic import ValidationError

    from capacity.errors import CapacityError

    try:
        app(standalone_mode=False)
    except CapacityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        print(f"error: {loc}: {err['msg']}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        # Usage errors come from typer's bundled click; recognise them by their interface.
        if any(cls.__name__ == "ClickException" for cls in type(exc).__mro__):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(2)
        raise
