"""Logs: one line per event, to standard error, the same in every entry point."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str) -> None:
    """Log at ``level`` in the one-line format; keep APScheduler's per-run chatter out
    (the scan's own summary line already says when a rescan ran and what it did)."""
    logging.basicConfig(level=level, stream=sys.stderr, format=FORMAT)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
