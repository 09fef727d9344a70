"""Markup: a post body -> the HTML a feed carries, its summary and its first image.

Markdown goes through markdown-it-py (raw HTML allowed: Hexo posts mix both). The HTML is
then parsed once with lxml and rewritten in place: scripts and event handlers stripped
(lxml_html_clean), lazy-load ``data-src`` promoted, every relative ``href``/``src``/
``srcset``/``poster`` made absolute against the post's link. Characters XML forbids are
removed from everything that reaches a feed, keeping tab, newline and carriage return.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml_html_clean import Cleaner
from markdown_it import MarkdownIt

#: Everything outside the XML 1.0 Char production (and lone surrogates).
_XML_ILLEGAL = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: A numeric character reference, with or without its semicolon (HTML accepts both).
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
_MORE = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)
_LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url")
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
_URL_ATTRS = ("href", "src", "poster", "cite", "action", "background")
_BLOCK = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "table",
        "tr",
        "td",
        "th",
        "section",
        "article",
        "header",
        "footer",
        "hr",
        "dd",
        "dt",
        "dl",
    ]
)

_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_CLEANER = Cleaner(
    scripts=True,
    javascript=True,
    comments=True,
    style=True,
    inline_style=False,
    links=False,
    meta=True,
    page_structure=False,
    processing_instructions=True,
    embedded=False,
    frames=False,
    forms=False,
    annoying_tags=False,
    remove_unknown_tags=False,
    safe_attrs_only=False,
)


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (tab, LF and CR are kept)."""
    return _XML_ILLEGAL.sub("", text)


def _drop_forbidden_refs(markup: str) -> str:
    """``markup`` without character references to characters XML forbids (``&#1;``):
    the HTML parser would decode them into the tree, where lxml refuses to handle them."""

    def keep(match: re.Match[str]) -> str:
        hexa, decimal = match.groups()
        code = int(hexa, 16) if hexa else int(decimal)
        return match.group(0) if code <= 0x10FFFF and clean_text(chr(code)) else ""

    return _CHAR_REF.sub(keep, markup)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A post body ready for a feed."""

    content_html: str
    summary_html: str
    summary_text: str
    first_image: str  #: absolute URL of the body's first image, or ""


def _is_placeholder(src: str | None) -> bool:
    if not src or not src.strip():
        return True
    lowered = src.strip().lower()
    return lowered.startswith("data:") or any(
        word in lowered for word in ("placeholder", "blank.gif", "lazy", "spacer.gif", "grey.gif")
    )


def _absolute(base: str, value: str) -> str:
    value = value.strip()
    if not value or value.startswith(("#", "mailto:", "data:", "tel:")):
        return value
    try:
        return urljoin(base, value)
    except ValueError:
        return value


def _srcset(base: str, value: str) -> str:
    parts = []
    for candidate in value.split(","):
        bits = candidate.strip().split(None, 1)
        if bits:
            bits[0] = _absolute(base, bits[0])
            parts.append(" ".join(bits))
    return ", ".join(parts)


def _rewrite(root: lxml.html.HtmlElement, base: str) -> None:
    for el in root.iter(etree.Element):
        attrib = el.attrib
        # An iframe's srcdoc is a whole HTML document (``<script>`` included, escaped as
        # text) that lxml_html_clean leaves alone: drop it with the other script carriers.
        attrib.pop("srcdoc", None)
        if el.tag in ("img", "source", "iframe", "video", "audio"):
            if _is_placeholder(attrib.get("src")):
                for name in _LAZY_SRC:
                    if attrib.get(name, "").strip():
                        attrib["src"] = attrib[name]
                        break
            if not attrib.get("srcset", "").strip():
                for name in _LAZY_SRCSET:
                    if attrib.get(name, "").strip():
                        attrib["srcset"] = attrib[name]
                        break
        for name in _URL_ATTRS:
            value = attrib.get(name)
            if value is not None:
                attrib[name] = _absolute(base, value)
        if "srcset" in attrib:
            attrib["srcset"] = _srcset(base, attrib["srcset"])


def _parse(fragment: str) -> lxml.html.HtmlElement:
    try:
        root = lxml.html.fragment_fromstring(f"<div>{fragment}</div>")
    except etree.ParserError:
        # A stray closing tag (``x</div>y``) ends the wrapper early, leaving text or more
        # elements after it; parse the pieces and wrap them instead of failing the build.
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    if root.tag != "div":  # defensive: lxml may restructure very broken input
        wrapper = lxml.html.Element("div")
        wrapper.append(root)
        root = wrapper
    return root


def _serialize(root: lxml.html.HtmlElement) -> str:
    out = [html.escape(root.text or "", quote=False)]
    out.extend(lxml.html.tostring(child, encoding="unicode", method="html") for child in root)
    return clean_text("".join(out)).strip()


def _text_of(root: lxml.html.HtmlElement) -> str:
    pieces: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(el.tag, str):
            if event == "end" and el.tail:
                pieces.append(el.tail)
            continue
        if event == "start":
            if el.tag in _BLOCK:
                pieces.append(" ")
            if el.text:
                pieces.append(el.text)
        else:
            if el.tag in _BLOCK:
                pieces.append(" ")
            if el.tail and el is not root:
                pieces.append(el.tail)
    return " ".join("".join(pieces).split())


def cut(text: str, limit: int) -> str:
    """``text`` shortened to about ``limit`` characters on a character (and, where the text
    has spaces, word) boundary, with an ellipsis when anything was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    end = limit
    while end < len(text) and (unicodedata.combining(text[end]) or text[end] in "\u200d\ufe0f"):
        end += 1
    space = text.rfind(" ", int(limit * 0.7), end + 1)
    if space > 0:
        end = space
    return text[:end].rstrip(" ,;:") + "…"


def _process(fragment: str, base: str) -> lxml.html.HtmlElement:
    root = _parse(fragment)
    _CLEANER(root)
    _rewrite(root, base)
    return root


def render(body: str, markup: str, base: str, summary: str, summary_length: int) -> Rendered:
    """Render a post body for feeds. ``base`` is the post's link; ``summary`` is the
    excerpt/description text from the front matter, used when the body has no
    ``<!-- more -->`` mark."""
    source = clean_text(body)
    rendered = _MARKDOWN.render(source) if markup == "markdown" else source
    rendered = _drop_forbidden_refs(rendered)
    match = _MORE.search(rendered)
    root = _process(rendered, base)
    content_html = _serialize(root)
    first_image = ""
    for img in root.iter("img"):
        src = img.get("src", "")
        if src and urlsplit(src).scheme in ("http", "https"):
            first_image = src
            break
    if match:
        head_root = _process(rendered[: match.start()], base)
        summary_html = _serialize(head_root)
        summary_text = cut(_text_of(head_root), max(summary_length, 2000))
    elif summary:
        summary_text = cut(clean_text(summary), 2000)
        summary_html = html.escape(summary_text, quote=False)
    else:
        summary_text = cut(_text_of(root), summary_length)
        summary_html = html.escape(summary_text, quote=False)
    return Rendered(content_html, summary_html, summary_text, first_image)
