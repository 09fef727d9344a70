"""Directory: the OPML subscription list and the HTML index of every feed.

OPML 2.0 nests outlines by category hierarchy: a node with children is a folder outline
holding the node's own feed first and then its children, so an import into any reader
subscribes to every feed written. The HTML index shows the tree with post counts and
links, and carries ``<link rel="alternate">`` autodiscovery for every feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

import jinja2
from lxml import etree

from .catalog import Catalog, FeedSpec
from .feed import FORMATS, feed_path
from .settings import Settings

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("feedsvc", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class Node:
    """A feed placed in the category tree, for templates and OPML."""

    spec: FeedSpec
    title: str
    folder: str  #: URL path of the feed's folder under base_url ("" for the site)
    html_url: str
    children: tuple[Node, ...]

    def url(self, settings: Settings, fmt: str) -> str:
        """Absolute URL of this feed in ``fmt``."""
        return settings.base_url + self.folder + FORMATS[fmt][0]


def tree(catalog: Catalog, settings: Settings) -> Node:
    """The site feed as the root node, categories nested beneath it."""
    kids: dict[tuple[str, ...], list[FeedSpec]] = {}
    for spec in catalog.feeds[1:]:
        kids.setdefault(spec.names[:-1], []).append(spec)

    def node(spec: FeedSpec) -> Node:
        title = spec.names[-1] if spec.names else settings.title
        folder = feed_path(spec.slugs, settings)
        children = tuple(node(c) for c in sorted(kids.get(spec.names, []), key=lambda s: s.slugs))
        return Node(spec, title, folder, settings.link_root + folder, children)

    return node(catalog.feeds[0])


def render_opml(catalog: Catalog, settings: Settings, updated: datetime) -> bytes:
    """OPML 2.0 listing every feed (Atom URLs, ``type="rss"`` as readers expect)."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = f"{settings.title} feeds"
    etree.SubElement(head, "dateModified").text = format_datetime(updated, usegmt=True)
    body = etree.SubElement(opml, "body")

    def feed_outline(parent: etree._Element, n: Node, text: str) -> None:
        etree.SubElement(
            parent,
            "outline",
            type="rss",
            text=text,
            title=text,
            xmlUrl=n.url(settings, "atom"),
            htmlUrl=n.html_url,
        )

    def place(parent: etree._Element, n: Node) -> None:
        label = " › ".join(n.spec.names)
        if not n.children:
            feed_outline(parent, n, label)
            return
        folder = etree.SubElement(parent, "outline", text=n.title, title=n.title)
        feed_outline(folder, n, label)
        for child in n.children:
            place(folder, child)

    root = tree(catalog, settings)
    feed_outline(body, root, settings.title)
    for child in root.children:
        place(body, child)
    data: bytes = etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def render_index(catalog: Catalog, settings: Settings) -> bytes:
    """The HTML index page: the category tree, post counts, feed links, autodiscovery."""
    root = tree(catalog, settings)
    flat: list[Node] = []

    def walk(n: Node) -> None:
        flat.append(n)
        for child in n.children:
            walk(child)

    walk(root)
    page = _TEMPLATES.get_template("index.html").render(
        settings=settings, root=root, nodes=flat, formats=FORMATS, catalog=catalog
    )
    return page.encode("utf-8")
