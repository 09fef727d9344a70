"""Problems: what went wrong with one file or setting, and what was done about it.

A scan never stops for bad content. Each thing it could not use as written becomes a
:class:`Problem` naming the file, the field, the reason and the action taken, so that
``feedsvc check``, ``/healthz`` and the log can all say the same thing.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]

#: Characters that would break "one problem, one line" in a terminal or a log: C0 and C1
#: controls, DEL, the Unicode line and paragraph separators, lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` on one line: each control character becomes a ``\\xNN``-style escape."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group(0))[1:-1], text)


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding. ``error``: the post was skipped. ``warning``: published with a fallback."""

    file: str
    field: str
    reason: str
    action: str
    severity: Severity = "warning"

    def line(self) -> str:
        """One human-readable line, compiler style: file, severity, field, what is wrong,
        what was done (``a.md: error: front matter: malformed YAML ... (skipped)``).
        Control characters (a file name may hold a newline) are escaped."""
        field = f"{self.field}: " if self.field else ""
        text = f"{self.file}: {self.severity}: {field}{self.reason} ({self.action})"
        return printable(text)

    def as_dict(self) -> dict[str, str]:
        """A JSON-ready mapping of the fields."""
        return asdict(self)
