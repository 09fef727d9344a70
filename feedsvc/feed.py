"""Feed: render one :class:`FeedSpec` as RSS 2.0, Atom 1.0 (both via feedgen) or JSON Feed 1.1.

feedgen is used with its known traps avoided (see the reader-expectations reference §4):
a fresh ``FeedGenerator`` per document, entries appended newest first (never the default
prepend), every date set explicitly and aware (no ``now()`` anywhere, so output depends on
content only), the self link added before the alternate link (RSS takes the last link as
``<channel><link>``), ``dc:creator`` for name-only authors, ``type="html"`` content (never
CDATA), item-level ``media:thumbnail`` (``group=None``) and an enclosure with a string
length. One :class:`Entry` per post is built once and shared by every feed it appears in.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from . import __version__
from .catalog import FeedSpec
from .markup import Rendered
from .post import ID_NAMESPACE_URN, Post
from .settings import Settings
from .slug import url_path

#: The feed formats, their file names and media types.
FORMATS: dict[str, tuple[str, str]] = {
    "atom": ("atom.xml", "application/atom+xml; charset=utf-8"),
    "rss": ("rss.xml", "application/rss+xml; charset=utf-8"),
    "json": ("feed.json", "application/feed+json; charset=utf-8"),
}
#: ``updated`` of a feed with no items: fixed, so empty feeds are deterministic too.
EMPTY_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR_URI = "https://pypi.org/project/feedsvc/"
_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".bmp": "image/bmp",
    ".ico": "image/x-icon",
}


def image_type(url: str) -> str:
    """The MIME type of an image URL, from its path's ending; JPEG when it has none."""
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    ext = path[dot:] if dot > path.rfind("/") else ""
    return _IMAGE_TYPES.get(ext) or (mimetypes.guess_type(path)[0] or "image/jpeg")


class AtomLinks(BaseEntryExtension):  # type: ignore[misc]
    """Writes an Atom entry's links with their attributes.

    feedgen 1.0 drops ``rel``, ``type`` and ``length`` from Atom entry links (a shadowed
    loop variable: lkiesow/python-feedgen#135, #143), which turns an enclosure into a
    second ``alternate`` link. This extension replaces those links in place.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        old = [child for child in entry if child.tag == "link"]
        if not old:
            return entry
        position = list(entry).index(old[0])
        for child in old:
            entry.remove(child)
        for offset, attrs in enumerate(self.links):
            link = etree.Element("link", href=attrs["href"])
            for name in ("rel", "type", "length"):
                if attrs.get(name):
                    link.set(name, attrs[name])
            entry.insert(position + offset, link)
        return entry


@dataclass(frozen=True, slots=True)
class Entry:
    """A post rendered once, ready to go into any number of feeds."""

    post: Post
    body: Rendered
    thumbnail: str  #: front-matter thumbnail, else the body's first image, else ""
    feedgen_entry: FeedEntry
    json_item: dict[str, Any]


def feed_path(spec_slugs: tuple[str, ...], settings: Settings) -> str:
    """The URL path (percent-encoded, no leading slash) of a feed's folder."""
    if not spec_slugs:
        return ""
    return url_path([settings.category_dir, *spec_slugs]) + "/"


def make_entry(post: Post, body: Rendered, settings: Settings) -> Entry:
    """Build the shared feedgen entry and JSON Feed item for one post."""
    thumbnail = post.thumbnail or body.first_image
    fe = FeedEntry()
    fe.load_extension("dc", atom=False, rss=True)
    fe.load_extension("media", atom=True, rss=True)
    fe.register_extension("feedsvc_links", AtomLinks, atom=True, rss=False)
    links = [{"href": post.link, "rel": "alternate", "type": "text/html"}]
    fe.id(post.id)
    fe.title(post.title)
    fe.link(href=post.link, rel="alternate")
    fe.published(post.published)
    fe.updated(post.updated)
    if post.author:
        fe.author({"name": post.author})
        fe.dc.dc_creator(post.author)
    terms = list(dict.fromkeys(name for path in post.categories for name in path))
    for term in [*terms, *post.tags]:
        fe.category(term=term)
    fe.content(body.content_html, type="html")
    if body.summary_html:
        fe.summary(body.summary_html, type="html")
    if thumbnail:
        mime = image_type(thumbnail)
        fe.media.thumbnail(url=thumbnail, group=None)
        fe.media.content(url=thumbnail, medium="image", type=mime, group=None)
        fe.enclosure(thumbnail, "0", mime)
        links.append({"href": thumbnail, "rel": "enclosure", "type": mime, "length": "0"})
    fe.feedsvc_links.links = links
    item: dict[str, Any] = {
        "id": post.id,
        "url": post.link,
        "title": post.title,
        "content_html": body.content_html,
    }
    if body.summary_text:
        item["summary"] = body.summary_text
    if thumbnail:
        item["image"] = thumbnail
    item["date_published"] = post.published.isoformat()
    item["date_modified"] = post.updated.isoformat()
    if post.author:
        item["authors"] = [{"name": post.author}]
    if terms or post.tags:
        item["tags"] = list(dict.fromkeys([*terms, *post.tags]))
    return Entry(post, body, thumbnail, fe, item)


def _titles(spec: FeedSpec, settings: Settings) -> tuple[str, str]:
    if not spec.names:
        return settings.title, settings.description or settings.title
    path = " › ".join(spec.names)
    return f"{settings.title} · {path}", f"{settings.title}: posts in {path}"


def _common(spec: FeedSpec, settings: Settings) -> dict[str, str]:
    folder = feed_path(spec.slugs, settings)
    html = settings.link_root + (folder if spec.slugs else "")
    return {
        "folder": folder,
        "html": html,
        "id": ID_NAMESPACE_URN("feed:" + "\x1f".join(spec.names)),
    }


def updated_of(entries: list[Entry]) -> datetime:
    """A feed's updated time: its newest item's, never the build time."""
    return max((e.post.updated for e in entries), default=EMPTY_UPDATED)


def render_xml(spec: FeedSpec, entries: list[Entry], fmt: str, settings: Settings) -> bytes:
    """RSS 2.0 (``fmt="rss"``) or Atom 1.0 (``fmt="atom"``) bytes for one feed."""
    common = _common(spec, settings)
    title, subtitle = _titles(spec, settings)
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.load_extension("media", atom=True, rss=True)
    fg.id(common["id"])
    fg.title(title)
    fg.subtitle(subtitle)
    fg.language(settings.language)
    fg.author({"name": settings.author or settings.title})
    fg.generator("feedsvc", version=__version__, uri=GENERATOR_URI)
    self_url = settings.base_url + common["folder"] + FORMATS[fmt][0]
    fg.link(href=self_url, rel="self", type=FORMATS[fmt][1].split(";")[0])
    fg.link(href=common["html"], rel="alternate", type="text/html")  # last: RSS <link>
    fg.updated(updated_of(entries))
    if fmt == "rss":
        fg.ttl(max(1, settings.cache_max_age // 60))
    for entry in entries:
        fg.add_entry(entry.feedgen_entry, order="append")
    if fmt == "rss":
        data: bytes = fg.rss_str(pretty=True)
    else:
        data = fg.atom_str(pretty=True)
    return data


def render_json(spec: FeedSpec, entries: list[Entry], settings: Settings) -> bytes:
    """JSON Feed 1.1 bytes for one feed."""
    common = _common(spec, settings)
    title, subtitle = _titles(spec, settings)
    doc: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": common["html"],
        "feed_url": settings.base_url + common["folder"] + FORMATS["json"][0],
        "description": subtitle,
        "language": settings.language,
        "authors": [{"name": settings.author or settings.title}],
        "items": [e.json_item for e in entries],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def render(spec: FeedSpec, entries: list[Entry], fmt: str, settings: Settings) -> bytes:
    """Bytes of one feed in one format."""
    return (
        render_json(spec, entries, settings)
        if fmt == "json"
        else render_xml(spec, entries, fmt, settings)
    )
