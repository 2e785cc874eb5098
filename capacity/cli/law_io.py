"""`--law`: a registered law id, or a law file written by `capacity fit-law`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capacity.scaling.fit import LawFit

LAW_HELP = (
    "Scaling law: epoch (default), chinchilla, kaplan, or a law file (.toml) from "
    "`capacity fit-law`, whose bootstrap gives the loss an interval."
)


def load_law(value: str) -> str | LawFit:
    """The law id unchanged (checked), or the fitted law read from a .toml file."""
    from capacity.errors import CapacityError
    from capacity.scaling import get_law
    from capacity.scaling.fit import law_from_toml

    path = Path(value)
    try:
        exists = path.exists()
    except OSError:  # a name too long for the file system: not a file
        exists = False
    if value.endswith(".toml") or exists:
        if not exists:
            raise CapacityError(f"no such law file '{value}'", field="law")
        from capacity.catalog.files import read_text

        # a folder, a device or a FIFO is named as such by read_text

        return law_from_toml(read_text(path, field="law"), where=value)
    get_law(value)  # unknown id: the error lists the valid ones
    return value
