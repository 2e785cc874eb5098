"""The `capacity` command line. Commands are thin: parse, call the core, print."""

from __future__ import annotations

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
from capacity.cli.guard import GuardedGroup

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
    cls=GuardedGroup,
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
    """Entry point: every failure is one line on stderr and exit code 2 (capacity.cli.guard)."""
    import signal
    import sys

    def _terminate(signum: int, frame: object) -> None:
        # SIGTERM unwinds like Ctrl-C, so half-written outputs and temp files are removed.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    for stream in (sys.stdout, sys.stderr):
        # a terminal that cannot show '—' or '≤' (PYTHONIOENCODING=ascii) gets '?', not a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    app()
