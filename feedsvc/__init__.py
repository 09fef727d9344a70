"""feedsvc: every category of a folder of Hexo-style posts as RSS, Atom and JSON feeds."""

from __future__ import annotations

__version__ = "0.1.0"
