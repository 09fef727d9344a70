"""Problems: what went wrong with one file or setting, and what was done about it.

A scan never stops for bad content. Each thing it could not use as written becomes a
:class:`Problem` naming the file, the field, the reason and the action taken, so that
``feedsvc check``, ``/healthz`` and the log can all say the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding. ``error``: the post was skipped. ``warning``: published with a fallback."""

    file: str
    field: str
    reason: str
    action: str
    severity: Severity = "warning"

    def line(self) -> str:
        """One human-readable line: file, field, what is wrong, what was done."""
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{self.severity}: {where}: {self.reason} ({self.action})"

    def as_dict(self) -> dict[str, str]:
        """A JSON-ready mapping of the fields."""
        return asdict(self)
