"""Peers: the benchmark corpus as a Hugo site and as a Pelican site, and their commands.

Conversion is a preparation step, never timed: it reads each corpus post (the seed format:
YAML front matter with a three-level ``categories`` list and RFC 2822 dates, then HTML)
and writes the same title, dates, author, category nodes and HTML body in the form each
tool reads (``hugo.toml`` and ``pelicanconf.py`` beside this file say how each is set up
to publish one feed per category node; the commands use those files where they are). A
prepared site is kept under ``bench/out`` and reused while the corpus and this converter
are unchanged.
"""

from __future__ import annotations

import email.utils
import html
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
HUGO_CONFIG = HERE / "hugo.toml"
PELICAN_CONFIG = HERE / "pelicanconf.py"
#: Bump when the converted form changes, so that prepared sites are made again.
FORMAT = "3"
#: Between category names in a node's name, as in feedsvc's feed titles.
SEPARATOR = " › "
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Post:
    """What both peers need of one corpus post."""

    stem: str  #: file name without extension
    folder: str  #: the corpus sub-folder ("0000")
    title: str
    published: datetime
    updated: datetime | None
    author: str
    nodes: tuple[str, ...]  #: the category path's nodes from the top, names joined by SEPARATOR
    body: str


def read_posts(corpus: Path) -> Iterator[Post]:
    """Every post of a corpus written by :mod:`bench.corpus`, in file name order."""
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            _, front, body = text.split("\n---\n", 2)
            meta = yaml.load(front, Loader=_LOADER)
            names = [str(c) for c in meta["categories"]]
            nodes = tuple(SEPARATOR.join(names[: i + 1]) for i in range(len(names)))
            updated = meta.get("updated")
            yield Post(
                stem=path.stem,
                folder=folder.name,
                title=str(meta["title"]),
                published=email.utils.parsedate_to_datetime(meta["date"]).astimezone(UTC),
                updated=(
                    email.utils.parsedate_to_datetime(updated).astimezone(UTC) if updated else None
                ),
                author=str(meta.get("author") or ""),
                nodes=nodes,
                body=body.strip(),
            )


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def hugo_file(post: Post) -> str:
    """The post as a Hugo content file: JSON front matter, then the HTML body."""
    front: dict[str, object] = {
        "title": post.title,
        "date": _stamp(post.published),
        "author": post.author,
        "categories": list(post.nodes),
        "_build": {"render": "link", "list": "always"},
    }
    if post.updated is not None:
        front["lastmod"] = _stamp(post.updated)
    return json.dumps(front, ensure_ascii=False, indent=1) + "\n\n" + post.body + "\n"


def pelican_file(post: Post) -> str:
    """The post as a Pelican HTML article: metadata in <meta> tags, the body in <body>."""
    metas = {
        "date": _stamp(post.published),
        "author": post.author,
        "category": post.nodes[-1],
        "tags": ", ".join(post.nodes[:-1]),
    }
    if post.updated is not None:
        metas["modified"] = _stamp(post.updated)
    head = "\n".join(
        f'<meta name="{name}" content="{html.escape(value)}" />' for name, value in metas.items()
    )
    return (
        f"<html>\n<head>\n<title>{html.escape(post.title, quote=False)}</title>\n{head}\n"
        f"</head>\n<body>\n{post.body}\n</body>\n</html>\n"
    )


def _prepare(corpus: Path, site: Path, kind: str) -> Path:
    """Convert ``corpus`` into a ``kind`` site at ``site`` unless it is there already."""
    marker = site.with_name(site.name + ".done")
    stamp = f"{FORMAT}:{corpus}:{_marker_of(corpus)}"
    if site.is_dir() and marker.is_file() and marker.read_text() == stamp:
        return site
    shutil.rmtree(site, ignore_errors=True)
    marker.unlink(missing_ok=True)
    building = site.with_name(site.name + ".part")
    shutil.rmtree(building, ignore_errors=True)
    content = building / "content" / ("posts" if kind == "hugo" else "")
    made: set[Path] = set()
    for post in read_posts(corpus):
        folder = content / post.folder
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        text = hugo_file(post) if kind == "hugo" else pelican_file(post)
        (folder / f"{post.stem}.html").write_text(text, encoding="utf-8")
    os.rename(building, site)
    marker.write_text(stamp)
    return site


def _marker_of(corpus: Path) -> str:
    """What identifies the corpus's content: its completion marker, if any."""
    done = corpus.with_name(corpus.name + ".done")
    return done.read_text() if done.is_file() else "unmarked"


def prepare_hugo(corpus: Path, site: Path) -> Path:
    """A Hugo site of ``corpus`` at ``site`` (made once; reused while the corpus is)."""
    return _prepare(corpus, site, "hugo")


def prepare_pelican(corpus: Path, site: Path) -> Path:
    """A Pelican site of ``corpus`` at ``site`` (made once; reused while the corpus is)."""
    return _prepare(corpus, site, "pelican")


def hugo_command(hugo: str, site: Path, out: Path, *, cache: Path) -> list[str]:
    """A full Hugo build of ``site`` into ``out``, with a private cache folder."""
    return [
        hugo,
        "--source",
        str(site),
        "--config",
        str(HUGO_CONFIG),
        "--destination",
        str(out),
        "--cacheDir",
        str(cache),
        "--ignoreCache",
        "--quiet",
    ]


def pelican_command(site: Path, out: Path) -> list[str]:
    """A full Pelican build of ``site`` into ``out`` (the content folder is given, so the
    settings file's own folder does not matter)."""
    return [
        sys.executable,
        "-m",
        "pelican",
        str(site / "content"),
        "--settings",
        str(PELICAN_CONFIG),
        "--output",
        str(out),
        "--ignore-cache",
        "--quiet",
    ]


def count_feeds(out: Path) -> int:
    """Feed files a peer wrote (RSS ``index.xml`` for Hugo, ``*.xml`` for Pelican)."""
    return sum(1 for p in out.rglob("*.xml") if p.is_file())
