"""Catalog: published posts grouped into the site feed and one feed per category node.

Categories follow Hexo: ``[A, B, C]`` is one path A > B > C and a post belongs to every
level of each of its paths, so a parent's feed aggregates its descendants. Each node gets
a slug path (Hexo's slugize, ``category_map`` applied); siblings whose slugs would collide
(``C++`` and ``C``, ``Go`` and ``go``) are told apart deterministically and reported.
Posts dated after ``now`` are held back, and the earliest such date is kept so that the
scheduler can release them on time. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter

from .post import ID_NAMESPACE_URN, Post
from .problem import Problem
from .slug import has_slug, slugize


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed to render: the site (empty ``names``) or a category node."""

    names: tuple[str, ...]  #: category names from the root; () for the site feed
    slugs: tuple[str, ...]  #: URL/file path segments; () for the site feed
    posts: tuple[Post, ...]  #: newest first, at most item_limit
    total: int  #: posts in this feed before the item limit


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every feed of one scan, the site feed first, then categories in slug-path order."""

    feeds: tuple[FeedSpec, ...]
    problems: tuple[Problem, ...]
    published: int  #: posts visible now
    held: int  #: posts dated in the future
    next_release: datetime | None  #: when the earliest held post becomes visible


def sort_newest_first(posts: list[Post]) -> None:
    """Sort in place: newest published first, then newest updated, then by file.

    Two stable C-level sorts instead of one with a computed key: this runs over every
    post on every rescan.
    """
    posts.sort(key=attrgetter("source"))
    posts.sort(key=attrgetter("published", "updated"), reverse=True)


def _slug_children(
    names: Iterable[str], category_map: Mapping[str, str]
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Slug for each sibling name, and (name, winner, slug) for every collision resolved."""
    by_slug: dict[str, list[str]] = defaultdict(list)
    for name in sorted(set(names)):
        by_slug[slugize(category_map.get(name, name)).casefold()].append(name)
    slugs: dict[str, str] = {}
    collisions: list[tuple[str, str, str]] = []
    for group in by_slug.values():
        plain = [slugize(category_map.get(n, n)) for n in group]
        winner = next((n for n, s in zip(group, plain, strict=True) if s == n), group[0])
        for name, slug in zip(group, plain, strict=True):
            if name == winner:
                slugs[name] = slug
            else:
                digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:6]
                slugs[name] = f"{slug}-{digest}"
                collisions.append((name, winner, slugs[name]))
    return slugs, collisions


def _unique_ids(posts: list[Post]) -> tuple[list[Post], list[Problem]]:
    """Give every post a distinct id: on a clash the earliest published post (then the
    first file) keeps it, others get a derived one. Both are reported, since readers
    would otherwise drop one. Publication order, not file order, so that adding a copy
    of an old post (abbrlink and all) never takes the old post's id away from it."""
    counts = Counter(post.id for post in posts)
    if len(counts) == len(posts):  # the usual case: nothing to sort or rewrite
        return posts, []
    clashing = [p for p in posts if counts[p.id] > 1]
    posts = [p for p in posts if counts[p.id] == 1]
    seen: dict[str, str] = {}
    out: list[Post] = []
    problems: list[Problem] = []
    for post in sorted(clashing, key=lambda p: (p.published, p.source)):
        if post.id in seen:
            new_id = ID_NAMESPACE_URN(f"dup:{post.id}:{post.source}")
            problems.append(
                Problem(
                    post.source,
                    "id",
                    f"same id as {seen[post.id]}",
                    "given a derived id; set a distinct id",
                    "warning",
                )
            )
            problems.append(
                Problem(seen[post.id], "id", f"same id as {post.source}", "kept its id", "warning")
            )
            post = replace(post, id=new_id)
        seen[post.id] = post.source
        out.append(post)
    return posts + out, problems


def build_catalog(
    posts: Iterable[Post], now: datetime, *, item_limit: int, category_map: Mapping[str, str]
) -> Catalog:
    """Group ``posts`` into feeds as of ``now``."""
    visible: list[Post] = []
    future: list[Post] = []
    for post in posts:
        (visible if post.published <= now else future).append(post)
    visible, problems = _unique_ids(visible)
    sort_newest_first(visible)

    members: dict[tuple[str, ...], list[Post]] = defaultdict(list)
    first_user: dict[tuple[str, ...], str] = {}
    for post in visible:
        nodes: set[tuple[str, ...]] = set()
        for path in post.categories:
            nodes.update(path[: i + 1] for i in range(len(path)))
        for node in nodes:
            members[node].append(post)  # visible is sorted, so each list is too
            first_user[node] = min(first_user.get(node, post.source), post.source)

    children: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for node in members:
        children[node[:-1]].add(node[-1])
    slug_of: dict[tuple[str, ...], tuple[str, ...]] = {(): ()}
    for parent in sorted(children, key=len):
        slugs, collisions = _slug_children(children[parent], category_map)
        for name, slug in slugs.items():
            slug_of[(*parent, name)] = (*slug_of[parent], slug)
        for name in sorted(children[parent]):
            if not has_slug(category_map.get(name, name)):
                node = (*parent, name)
                problems.append(
                    Problem(
                        first_user[node],
                        "categories",
                        f"category {' > '.join(node)!r} leaves nothing to make a slug from",
                        f"published at {'/'.join(slug_of[node])}; set category_map to choose",
                        "warning",
                    )
                )
        for name, winner, _ in collisions:
            node = (*parent, name)
            problems.append(
                Problem(
                    first_user[node],
                    "categories",
                    f"category {' > '.join(node)!r} has the same slug as {winner!r}",
                    f"published at {'/'.join(slug_of[node])}; set category_map to choose",
                    "warning",
                )
            )

    site = FeedSpec((), (), tuple(visible[:item_limit]), len(visible))
    categories = sorted(
        (
            FeedSpec(node, slug_of[node], tuple(ps[:item_limit]), len(ps))
            for node, ps in members.items()
        ),
        key=lambda spec: spec.slugs,
    )
    next_release = min((p.published for p in future), default=None)
    return Catalog(
        (site, *categories), tuple(sorted(problems)), len(visible), len(future), next_release
    )
