"""What the bundled example content and the seeds must build into.

Mirrors ``examples/EXPECTED.md`` (site ``https://example.com/``, time zone UTC) and the
two seed posts. The ids are pinned on purpose: readers keep a post forever once they have
seen its id, so a change here duplicates every post for every subscriber.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from tests.conftest import iso, utc


@dataclass(frozen=True)
class Item:
    """One feed item as a reader sees it."""

    id: str
    link: str
    title: str
    published: datetime
    updated: datetime
    author: str  #: "" when the post names none
    thumbnail: str  #: "" when there is none


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _item(stem: str, uuid: str, title: str, date: str, thumb: str, author: str = "") -> Item:
    published = at(date.split(" ")[0])
    updated = at(date.split(" ")[1]) if " " in date else published
    link = f"https://example.com/{published:%Y/%m/%d}/{stem}/"
    return Item(f"urn:uuid:{uuid}", link, title, published, updated, author, thumb)


IMG = "https://img.example.net/"
GW, TD = "环球观察 Global Watch", "Tech Daily 科技日报"

#: Published example posts by stem, as EXPECTED.md lists them.
EXAMPLE_ITEMS: dict[str, Item] = {
    "100_3f9a1c7e5b2d4086": _item(
        "100_3f9a1c7e5b2d4086",
        "3cd849cc-0a66-5eb8-9440-3c118ab4712e",
        "北极航道夏季通航期预计延长至四个月",
        "2024-01-15T08:20:00Z",
        IMG + "uploads/2024/01/arctic-route-ship.jpg?w=770&resize=770%2C433",
        GW,
    ),
    "100_7c41e0b9a2f35d18": _item(
        "100_7c41e0b9a2f35d18",
        "6b7d22d4-9c39-5548-94e9-f68aac210cdb",
        "Coastal cities trial floating flood barriers ahead of storm season",
        "2024-06-03T14:05:27Z",
        IMG + "uploads/2024/06/flood-barrier-harbour.jpg?w=770&resize=770%2C433",
        GW,
    ),
    "100_a05d6e2c9f1b7834": _item(
        "100_a05d6e2c9f1b7834",
        "ec4a4aa4-f4ce-540b-89e0-776095d16ea7",
        "评论：城市更新不能只盯着容积率",
        "2024-09-22T23:48:10Z",
        IMG + "uploads/2024/09/old-town-street.jpg?w=770&resize=770%2C513",
        GW,
    ),
    "100_b82f4d17c6e0a951": _item(
        "100_b82f4d17c6e0a951",
        "f4677a74-b94c-5a5e-aefc-11dcc2253e4d",
        "Editor's note: Why we are slowing down our breaking-news alerts",
        "2025-02-28T06:30:00Z",
        IMG + "uploads/2025/02/newsroom-desk.jpg?w=770&resize=770%2C433",
        GW,
    ),
    "100_c9e3a7504d1f26bb": _item(
        "100_c9e3a7504d1f26bb",
        "860260fe-a376-526d-8210-b9e3ccae6945",
        "开源时序数据库 Tidewater 发布 4.0 版本，查询速度提升一倍",
        "2025-05-19T11:02:44Z",
        IMG + "tech/2025/05/tidewater-4-dashboard.png?w=770&resize=770%2C433",
        TD,
    ),
    "100_e14b6f9d38a2c07f": _item(
        "100_e14b6f9d38a2c07f",
        "c4802a25-d07a-523f-9162-8e16076032f2",
        "Chipmaker unveils low-power sensor aimed at sleep-tracking wearables",
        "2025-08-07T16:45:09Z",
        IMG + "tech/2025/08/sensor-wafer.jpg?w=770&resize=770%2C433",
        TD,
    ),
    "hello": _item(
        "hello",
        "683a2799-1ef8-54c2-bc41-43e79c128b52",
        "Hello, feedsvc — turning a folder of posts into feeds",
        "2025-03-14T01:30:00Z 2025-03-20T10:05:00Z",
        IMG + "blog/2025/03/hello-feeds.jpg?w=1200&h=630&fit=crop",
        "Lin Mei",
    ),
    "sqlite-wal-notes": _item(
        "sqlite-wal-notes",
        "8ef1a269-49d2-51e2-8dc2-d5d1aca098b7",
        "SQLite WAL mode: notes from a busy week",
        "2025-02-01T10:00:00Z",
        "https://example.com/images/diagram.png",
    ),
    "weekly-notes-2025-04": _item(
        "weekly-notes-2025-04",
        "5513770a-5a63-5b1e-a3c5-3a1986f266b5",
        "Weekly notes, first week of April",
        "2025-04-07T02:15:00Z",
        "https://example.com/images/cover.png",
    ),
    "feed-formats-zh": _item(
        "feed-formats-zh",
        "3c6ce05d-67b9-502b-b489-a2671fcc549e",
        "RSS、Atom 与 JSON Feed：三种订阅格式怎么选",
        "2024-12-31T23:30:00Z",
        "",
        "周晓岚",
    ),
}

#: Published posts, newest first.
EXAMPLE_ORDER = [
    "100_e14b6f9d38a2c07f",
    "100_c9e3a7504d1f26bb",
    "weekly-notes-2025-04",
    "hello",
    "100_b82f4d17c6e0a951",
    "sqlite-wal-notes",
    "feed-formats-zh",
    "100_a05d6e2c9f1b7834",
    "100_7c41e0b9a2f35d18",
    "100_3f9a1c7e5b2d4086",
]

_NEWS_GW = ["100_7c41e0b9a2f35d18", "100_3f9a1c7e5b2d4086"]
_OPINION_GW = ["100_b82f4d17c6e0a951", "100_a05d6e2c9f1b7834"]
_NEWS_TD = ["100_e14b6f9d38a2c07f", "100_c9e3a7504d1f26bb"]

#: Category feed folder (under categories/) -> its posts, newest first.
EXAMPLE_CATEGORIES: dict[str, list[str]] = {
    "新媒体/": _NEWS_TD + _OPINION_GW + _NEWS_GW,
    "新媒体/环球观察-Global-Watch/": _OPINION_GW + _NEWS_GW,
    "新媒体/环球观察-Global-Watch/新闻/": _NEWS_GW,
    "新媒体/环球观察-Global-Watch/评论/": _OPINION_GW,
    "新媒体/Tech-Daily-科技日报/": _NEWS_TD,
    "新媒体/Tech-Daily-科技日报/新闻/": _NEWS_TD,
    "Engineering/": ["hello", "sqlite-wal-notes", "feed-formats-zh"],
    "Engineering/Python/": ["hello"],
    "Engineering/Databases/": ["sqlite-wal-notes"],
    "Engineering/订阅格式/": ["feed-formats-zh"],
    "Notes/": ["weekly-notes-2025-04", "sqlite-wal-notes"],
}

#: Titles of example files that must never reach a feed.
EXAMPLE_UNPUBLISHED_TITLES = [
    "Internal roadmap for Q3 (not for publication)",
    "缓存失效的几种策略（写作中）",
    "A note to the year 2099",
    "Unfinished idea — per-tag feeds",
]

#: The two seeds, newest first, built with the default settings (site http://localhost:8000/).
ALJAZEERA = "https://chinese.aljazeera.net/wp-content/uploads/2021/"
SEED_ITEMS = [
    Item(
        "urn:uuid:46ea9ecd-a7a0-5893-83cd-1a63eaeeef7f",
        "http://localhost:8000/2021/10/20/001_845231865b296db3/",
        "俄罗斯欢迎塔利班为稳定阿富汗局势所付出的_努力_",
        at("2021-10-20T12:36:32Z"),
        at("2021-10-20T12:36:32Z"),
        "Aljazeera 半岛网",
        ALJAZEERA + "10/image-2-15.jpg?w=770&resize=770%2C433",
    ),
    Item(
        "urn:uuid:5fdf4cab-5488-5b3c-8ae6-d63285e65aab",
        "http://localhost:8000/2021/04/07/000_bcaba6659b3a0fcc/",
        "阿富汗问题是伊斯兰堡举行俄巴会谈首要议程",
        at("2021-04-07T12:03:06Z"),
        at("2021-04-07T12:03:06Z"),
        "Aljazeera 半岛网",
        ALJAZEERA + "04/GettyImages-1232145160.jpg?w=770&resize=770%2C545",
    ),
]
SEED_FOLDERS = [
    "",
    "categories/新媒体/",
    "categories/新媒体/Aljazeera-半岛网/",
    "categories/新媒体/Aljazeera-半岛网/新闻/",
]


def items_of(docs: Mapping[str, Any], folder: str) -> dict[str, list[Item]]:
    """The items of the three feeds in ``folder`` as readers see them, by file name.

    ``docs`` is what :func:`tests.conftest.check_written_folder` returned. RSS has no
    ``updated``: feedparser reports the publication date there (see :func:`as_rss`).
    """
    out: dict[str, list[Item]] = {}
    for name in ("atom.xml", "rss.xml"):
        out[name] = [
            Item(
                e.id,
                e.link,
                e.title,
                utc(e.published_parsed),
                utc(e.updated_parsed),
                e.get("author", ""),
                e.media_thumbnail[0]["url"] if "media_thumbnail" in e else "",
            )
            for e in docs[folder + name].entries
        ]
    out["feed.json"] = [
        Item(
            i["id"],
            i["url"],
            i["title"],
            iso(i["date_published"]),
            iso(i["date_modified"]),
            i["authors"][0]["name"] if "authors" in i else "",
            i.get("image", ""),
        )
        for i in docs[folder + "feed.json"]["items"]
    ]
    return out


def as_rss(item: Item) -> Item:
    """``item`` as RSS carries it: no separate updated date."""
    return replace(item, updated=item.published)
