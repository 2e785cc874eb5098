"""Domain errors. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class CapacityError(ValueError):
    """Bad input or an impossible request; `field` names what the user should fix."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{self.field}: {msg}" if self.field else msg


class CatalogError(CapacityError):
    """A catalog file that does not load: names the file and the field."""

    def __init__(self, path: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.path = path

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        return f"{where}: {self.args[0]}"
