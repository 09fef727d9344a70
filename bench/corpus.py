"""Corpus: a deterministic generator of synthetic Hexo-style posts for benchmarks.

Benchmarks need many posts that look like what the mirroring bots write (a blank line,
YAML front matter with a single-quoted title, a three-level ``categories`` block list,
``headimg``/``thumbnail`` URLs and an RFC 2822 ``date`` in GMT, then an HTML body of
``<p>`` paragraphs and WordPress ``<figure>`` images), but the real posts cannot be
shipped and a hand-made handful is too small. This module makes any number of them from
a seed, with no text copied from real posts: the words are generated.

Guarantees, which the benchmarks rely on:

* The same ``(n, seed)`` gives byte-identical files under identical names, on any
  machine: everything comes from :class:`random.Random` instances seeded with strings
  (never the global generator, the clock or the hash seed).
* Post ``i`` depends only on ``(seed, i)``, so a corpus of ``n`` posts is a prefix of one
  of ``n + k`` posts, and :func:`mutate` with ``added=k`` and the generating seed gives
  exactly the larger corpus.
* File ``i`` is ``{i // 1000:04d}/{i:06d}_{16 hex digits}.txt``: at most 1,000 files per
  folder, sorted by name in index order.
* About half the posts are Chinese and half English; each HTML body is about 4,300 to
  5,800 UTF-8 bytes (4-6 KB under either meaning of KB) with one or two images.
* Categories are ``[group, "<Source> <中文名>", section]`` over 2 groups, 20 sources and
  5 sections (100 feeds at the leaves), picked uniformly.
* Dates lie in 2021-01-01 .. 2025-12-31 (UTC), carry the right weekday and are all
  distinct to the second: post ``i`` gets second ``(OFFSET + STRIDE * i) mod SPAN`` of the
  five years, a permutation of the span that scatters neighbouring indices. Dates depend
  on the index only, never the seed, so posts added by :func:`mutate` with any seed
  never share a second with the posts already there.

Generating 100,000 posts (about 540 MB) took 13-14 s on one core of the development
machine: sentences are pre-built once per process from a fixed vocabulary, each post
picks from them with its own generator, and each file is written with one ``open()``.

Command line: ``python -m bench.corpus ROOT --posts N [--seed S]``.
"""

from __future__ import annotations

import argparse
import email.utils
import math
import os
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

#: Most files in one folder; ``generate`` starts a new folder every this many posts.
FOLDER_SIZE = 1000
#: First and last second (inclusive) a post may be dated.
START = datetime(2021, 1, 1, tzinfo=UTC)
END = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
#: Seconds in the date span; post dates are a permutation of ``range(SPAN)``.
SPAN = int((END - START).total_seconds()) + 1
#: Where post 0 falls in the span, in seconds (an arbitrary fixed point, not a round date).
DATE_OFFSET = 12_345_678


def _coprime_stride(span: int) -> int:
    """The first step at or above span/phi that is coprime with ``span``.

    Coprime makes ``i -> (OFFSET + STRIDE * i) mod SPAN`` a bijection (distinct seconds);
    the golden ratio spreads consecutive indices evenly over the five years.
    """
    stride = int(span * (math.sqrt(5) - 1) / 2)
    while math.gcd(stride, span) != 1:
        stride += 1
    return stride


DATE_STRIDE = _coprime_stride(SPAN)

#: Top-level category groups.
GROUPS = ("新媒体", "传统媒体")
#: The 20 sources as (group, "English name CJK name"); the second item is also the author.
SOURCES: tuple[tuple[str, str], ...] = (
    ("新媒体", "Harbor Times 海港时报"),
    ("新媒体", "Lantern News 灯塔新闻"),
    ("新媒体", "Jade Observer 翡翠观察"),
    ("新媒体", "Bamboo Wire 竹林通讯"),
    ("新媒体", "Eastwind Radio 东风电台"),
    ("新媒体", "Golden Bridge Media 金桥传媒"),
    ("新媒体", "Cloud Peak Express 云峰快报"),
    ("新媒体", "Lotus Channel 莲花频道"),
    ("新媒体", "Azure Sky Network 蔚蓝天空网"),
    ("新媒体", "Pixel Courier 像素信使"),
    ("新媒体", "Open River Daily 开河日报"),
    ("新媒体", "Signal Harbor 信号港"),
    ("传统媒体", "Northern Daily 北方日报"),
    ("传统媒体", "Riverside Post 河畔邮报"),
    ("传统媒体", "Summit Weekly 峰顶周刊"),
    ("传统媒体", "Coastline Herald 海岸先驱报"),
    ("传统媒体", "Meridian Review 子午评论"),
    ("传统媒体", "Pine Valley Gazette 松谷公报"),
    ("传统媒体", "Morning Bell 晨钟报"),
    ("传统媒体", "Delta Chronicle 三角洲纪事"),
)
#: The 5 sections, the third level of every category path.
SECTIONS = ("新闻", "评论", "财经", "科技", "体育")

#: Bounds of the body size the generator aims at, in UTF-8 bytes; the result may pass the
#: target by one sentence plus closing tags, so bodies stay within 4,300 .. 5,800 bytes.
BODY_TARGET = (4300, 5500)
#: Image host; URLs carry the query the mirrors append (770 px wide, height varies).
IMAGE_BASE = "https://img.example.net/uploads"
IMAGE_HEIGHTS = (433, 495, 513, 526, 545, 556)

#: Seed of the shared vocabulary; fixed so that every corpus uses the same words.
_VOCAB_SEED = "feedsvc-bench-vocabulary-1"
_NAME = re.compile(r"^(\d{6,})_[0-9a-f]{16}\.txt$")
_FOLDER = re.compile(r"^\d{4,}$")

# About 600 frequent Chinese characters (generic frequency-list material, no real text);
# non-CJK characters and repeats are dropped when the vocabulary is built.
_COMMON_HANZI = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之"
    "过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前"
    "所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声"
    "全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使"
    "教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑"
    "性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果"
    "亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让"
    "认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留"
    "红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息"
    "写呢识极令黄德收脸钱党倒未持音乐古准影价格低展示助参观察域际环境护源投资融市场费增消减"
    "企业创造供需服务制度规划推动完善提高质量效率改革开放发展经济社会文化教育卫生健康医疗保"
    "障就业收入居民城乡农村建设交通能源生态环保科学技术研究网络数据平台智能信息安全互联移动"
    "通信芯片软件硬件系统工程项目合作国际贸易出口进口物流港口铁路公路机场航空旅游体育比赛冠"
    "军球员教练联赛决赛训练成绩纪录奥运选手观众俱乐部赛季表现胜负评论观点认为指出强调表示报"
    "道记者采访调查发布消息官方声明会议讨论决定通过批准计划目标措施政策支持帮助关注问题挑战"
    "风险机遇趋势预计增长下降稳定恢复持续扩大加快推进实施落实加强优化升级转型"
)


def _words(text: str) -> tuple[str, ...]:
    """The white-space separated words of ``text`` (keeps the word tables below compact)."""
    return tuple(text.split())


_EN_FUNCTION = _words(
    "the the the of of and and to to in in a a is that for on with as by at from was "
    "were has have it its this will said after over more than their they which about "
    "into new but not be are an or two last year first also while during between"
)
_ONSETS = _words("b c d f g h j k l m n p r s t v w z br cl dr fr gr pl pr sh st th tr ch sl")
_VOWELS = _words("a e i o u a e i o ai ea ee ou io oa")
_CODAS = ("", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ng", "rt")


@dataclass(frozen=True, slots=True)
class _Language:
    """A language's word lists and pre-built sentences, with their UTF-8 sizes."""

    words: tuple[str, ...]  #: content words, for titles, captions and headings
    sentences: tuple[str, ...]  #: ready sentences, punctuation included
    sizes: tuple[int, ...]  #: UTF-8 byte length of each sentence
    joiner: str  #: between sentences in a paragraph ("" for Chinese, " " for English)
    sentences_per_paragraph: tuple[int, int]


def _english_word(rng: random.Random) -> str:
    """One pronounceable made-up word of one to three syllables."""
    syllables = rng.choices((1, 2, 3), weights=(4, 5, 1))[0]
    return "".join(
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
    )


def _english_sentence(rng: random.Random, words: Sequence[str]) -> str:
    """A sentence of 8-20 words mixing function words, made-up words and numbers."""
    out: list[str] = []
    for position in range(rng.randint(8, 20)):
        roll = rng.random()
        if roll < 0.4:
            word = rng.choice(_EN_FUNCTION)
        elif roll < 0.43:
            word = str(rng.choice((rng.randint(2, 99), rng.randint(2021, 2025))))
        else:
            word = rng.choice(words)
            if rng.random() < 0.03:
                word += "'s"
        if position and rng.random() < 0.07:
            out[-1] += ","
        out.append(word)
    out[0] = out[0][:1].upper() + out[0][1:]
    ending = rng.choices((".", "?", "!"), weights=(18, 1, 1))[0]
    return " ".join(out) + ending


def _chinese_word(rng: random.Random, chars: Sequence[str]) -> str:
    """One made-up word of one to four common characters, mostly two."""
    length = rng.choices((1, 2, 3, 4), weights=(15, 60, 15, 10))[0]
    return "".join(rng.choices(chars, k=length))


def _chinese_sentence(rng: random.Random, words: Sequence[str]) -> str:
    """A sentence of 6-16 words in clauses, with Chinese punctuation and some numbers."""
    clauses: list[str] = []
    for _ in range(rng.randint(1, 4)):
        parts: list[str] = []
        for _ in range(rng.randint(2, 5)):
            roll = rng.random()
            if roll < 0.05:
                parts.append(f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日")
            elif roll < 0.08:
                parts.append(f"{rng.randint(2, 98)}.{rng.randint(1, 9)}亿")
            else:
                parts.append(rng.choice(words))
        joiner = "、" if rng.random() < 0.1 else ""
        clause = joiner.join(parts)
        if rng.random() < 0.08:
            clause = f"“{clause}”"
        elif rng.random() < 0.05:
            clause += f"（{rng.choice(words)}）"
        clauses.append(clause)
    ending = rng.choices(("。", "！", "？"), weights=(18, 1, 1))[0]
    return "，".join(clauses) + ending


@cache
def _languages() -> dict[str, _Language]:
    """Build both languages' vocabularies and sentence pools once per process.

    Building word by word for every post would cost most of the run; picking from 6,000
    pre-built sentences per language keeps generation I/O-bound while bodies still vary.
    """
    rng = random.Random(_VOCAB_SEED)
    hanzi = [c for c in dict.fromkeys(_COMMON_HANZI) if "\u4e00" <= c <= "\u9fff"]
    zh_words = tuple(dict.fromkeys(_chinese_word(rng, hanzi) for _ in range(5000)))
    en_words = tuple(dict.fromkeys(_english_word(rng) for _ in range(4000)))
    zh_sentences = tuple(_chinese_sentence(rng, zh_words) for _ in range(6000))
    en_sentences = tuple(_english_sentence(rng, en_words) for _ in range(6000))
    return {
        "zh": _Language(
            zh_words,
            zh_sentences,
            tuple(len(s.encode()) for s in zh_sentences),
            "",
            (1, 4),
        ),
        "en": _Language(
            en_words,
            en_sentences,
            tuple(len(s.encode()) for s in en_sentences),
            " ",
            (2, 5),
        ),
    }


def _post_rng(seed: int, index: int) -> random.Random:
    """The generator for post ``index`` of corpus ``seed`` (string seeds hash stably)."""
    return random.Random(f"feedsvc-bench/{seed}/{index}")


def post_date(index: int) -> datetime:
    """The publication date of post ``index``: distinct per index for all ``index < SPAN``."""
    return START + timedelta(seconds=(DATE_OFFSET + DATE_STRIDE * index) % SPAN)


def post_path(root: Path, index: int, rng: random.Random) -> Path:
    """Where post ``index`` lives, drawing its 16 hex digits from ``rng``."""
    return root / f"{index // FOLDER_SIZE:04d}" / f"{index:06d}_{rng.getrandbits(64):016x}.txt"


def _image_url(rng: random.Random, when: datetime, height: int) -> str:
    """An image URL on the example host, filed under the post's year and month."""
    return (
        f"{IMAGE_BASE}/{when.year:04d}/{when.month:02d}/{rng.getrandbits(64):016x}.jpg"
        f"?w=770&resize=770%2C{height}"
    )


def _title(rng: random.Random, lang: str) -> str:
    """A headline: 3-7 Chinese words (sometimes with a colon) or 5-10 English words."""
    words = _languages()[lang].words
    if lang == "zh":
        title = "".join(rng.choices(words, k=rng.randint(3, 7)))
        if rng.random() < 0.2:
            title += "：" + "".join(rng.choices(words, k=rng.randint(2, 3)))
        return title
    picked = rng.choices(words, k=rng.randint(5, 10))
    if rng.random() < 0.15:  # an apostrophe exercises YAML quote doubling
        picked[rng.randrange(len(picked))] += "'s"
    return " ".join(w[:1].upper() + w[1:] for w in picked)


def _caption(rng: random.Random, lang: str) -> str:
    """A short image caption in the post's language."""
    words = _languages()[lang].words
    if lang == "zh":
        return "".join(rng.choices(words, k=rng.randint(3, 6))) + "（资料图片）"
    text = " ".join(rng.choices(words, k=rng.randint(4, 9)))
    return text[:1].upper() + text[1:] + " (file photo)"


def _image(rng: random.Random, lang: str, url: str) -> str:
    """One image the way WordPress mirrors write it: a captioned figure or a bare <p><img>."""
    attachment = rng.randint(100_000, 999_999)
    if rng.random() < 0.75:
        return (
            f'<figure id="attachment_{attachment}" style="width:770px" '
            f'class="wp-caption aligncenter"><img class="size-fantasia-770 '
            f'wp-image-{attachment}" src="{url}" data-recalc-dims="1" '
            f'referrerpolicy="no-referrer">{_caption(rng, lang)}</figure>\n'
        )
    return (
        f'<p><img class="aligncenter size-fantasia-770 wp-image-{attachment}" src="{url}" '
        f'data-recalc-dims="1" referrerpolicy="no-referrer"></p>\n'
    )


def _body(rng: random.Random, lang: str, thumbnail: str, when: datetime) -> str:
    """An HTML body of about ``BODY_TARGET`` bytes with one or two images.

    Paragraphs grow sentence by sentence and stop at the next image point or at the
    target, so the size overshoots by at most one sentence and every image is placed.
    The first image reuses the thumbnail, as on the mirrored sites.
    """
    language = _languages()[lang]
    sentences, sizes = language.sentences, language.sizes
    count = len(sentences)
    extra = len(language.joiner)
    target = rng.randint(*BODY_TARGET)
    images = [(int(target * rng.uniform(0.12, 0.35)), thumbnail)]
    if rng.random() < 0.5:
        height = rng.choice(IMAGE_HEIGHTS)
        images.append((int(target * rng.uniform(0.5, 0.8)), _image_url(rng, when, height)))
    heading = int(target * rng.uniform(0.4, 0.6)) if rng.random() < 0.3 else None

    parts = ["<div>   \n"]
    size = len(parts[0])
    while size < target:
        if images and size >= images[0][0]:
            block = _image(rng, lang, images.pop(0)[1])
            parts.append(block)
            size += len(block.encode())
            continue
        if heading is not None and size >= heading:
            words = rng.choices(language.words, k=rng.randint(2, 4))
            block = f"<h3>{language.joiner.join(words)}</h3>\n"
            parts.append(block)
            size += len(block.encode())
            heading = None
            continue
        stop = min(target, images[0][0]) if images else target
        picked: list[str] = []
        size += 8  # "<p>" + "</p>\n"
        for _ in range(rng.randint(*language.sentences_per_paragraph)):
            pick = rng.randrange(count)
            picked.append(sentences[pick])
            size += sizes[pick] + extra
            if size >= stop:
                break
        size -= extra
        parts.append(f"<p>{language.joiner.join(picked)}</p>\n")
    parts.append("  \n</div>\n            ")
    return "".join(parts)


def _quote(text: str) -> str:
    """``text`` as a YAML single-quoted scalar (quotes doubled inside)."""
    return "'" + text.replace("'", "''") + "'"


def _render(index: int, seed: int, root: Path) -> tuple[Path, bytes]:
    """Post ``index`` of corpus ``seed``: its path under ``root`` and its exact bytes."""
    rng = _post_rng(seed, index)
    path = post_path(root, index, rng)
    lang = "zh" if rng.random() < 0.5 else "en"
    group, source = SOURCES[rng.randrange(len(SOURCES))]
    section = SECTIONS[rng.randrange(len(SECTIONS))]
    when = post_date(index)
    thumbnail = _image_url(rng, when, 433)
    text = (
        "\n---\n"
        f"title: {_quote(_title(rng, lang))}\n"
        "categories: \n"
        f" - {group}\n"
        f" - {source}\n"
        f" - {section}\n"
        f"headimg: {_quote(thumbnail)}\n"
        f"author: {source}\n"
        "comments: false\n"
        f"date: {email.utils.format_datetime(when, usegmt=True)}\n"
        f"thumbnail: {_quote(thumbnail)}\n"
        "---\n\n" + _body(rng, lang, thumbnail, when)
    )
    return path, text.encode()


def _write(root: Path, indices: range, seed: int) -> tuple[list[Path], int]:
    """Write the posts ``indices`` of corpus ``seed``; return their paths and total bytes."""
    made: set[Path] = set()
    paths: list[Path] = []
    total = 0
    for index in indices:
        path, data = _render(index, seed, root)
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
        total += len(data)
    return paths, total


def generate_counted(root: Path, n: int, seed: int = 0) -> int:
    """Like :func:`generate`, but return the total bytes written (for the command line)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n > SPAN:
        raise ValueError(f"at most {SPAN} posts have distinct dates, got {n}")
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; generate into a fresh folder")
    root.mkdir(parents=True, exist_ok=True)
    return _write(root, range(n), seed)[1]


def generate(root: Path, n: int, seed: int = 0) -> None:
    """Write ``n`` synthetic posts of corpus ``seed`` under ``root`` (new or empty folder).

    Refuses a non-empty folder, because leftovers from another run would make the corpus
    differ from what ``(n, seed)`` promises. The same arguments always give the same
    bytes under the same names.
    """
    generate_counted(root, n, seed)


def existing_posts(root: Path) -> dict[int, Path]:
    """The corpus posts under ``root`` by index (files named the way :func:`generate` does)."""
    found: dict[int, Path] = {}
    with os.scandir(root) as folders:
        for folder in folders:
            if not (folder.is_dir() and _FOLDER.match(folder.name)):
                continue
            with os.scandir(folder.path) as files:
                for entry in files:
                    match = _NAME.match(entry.name)
                    if match:
                        found[int(match.group(1))] = Path(entry.path)
    return found


def _rewrite(path: Path, rng: random.Random) -> None:
    """Give post ``path`` a new body and an ``updated`` date; keep the other front matter."""
    text = path.read_bytes().decode()
    if not text.startswith("\n---\n"):
        raise ValueError(f"{path} does not start with front matter")
    end = text.index("\n---\n", 4)
    lines = text[5:end].split("\n")
    fields = {
        key: value.strip()
        for key, _, value in (line.partition(":") for line in lines if line[:1] != " ")
    }
    published = email.utils.parsedate_to_datetime(fields["date"])
    previous = published
    if fields.get("updated"):
        previous = max(previous, email.utils.parsedate_to_datetime(fields["updated"]))
    lines = [line for line in lines if not line.startswith("updated:")]
    updated = min(previous + timedelta(seconds=rng.randint(3600, 14 * 86400)), END)
    updated = max(updated, published)
    at = next(i for i, line in enumerate(lines) if line.startswith("date:")) + 1
    lines.insert(at, f"updated: {email.utils.format_datetime(updated, usegmt=True)}")
    title = fields["title"]
    lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in title) else "en"
    thumbnail = fields["thumbnail"].strip("'").replace("''", "'")
    body = _body(rng, lang, thumbnail, published)
    data = ("\n---\n" + "\n".join(lines) + "\n---\n\n" + body).encode()
    with open(path, "wb") as f:
        f.write(data)


def mutate(root: Path, changed: int, added: int, seed: int) -> list[Path]:
    """Rewrite ``changed`` existing posts and add ``added`` new ones; return the touched paths.

    For incremental-build benchmarks. A changed post gets a new body and an ``updated``
    field (after its date and any earlier ``updated``, at most 2025-12-31 23:59:59) and
    keeps all other front matter, so it stays in the same feeds. New posts take the
    next free indices and are exactly what :func:`generate` with ``seed`` would write
    there. The choice depends on ``seed`` and on the number of posts already present, so
    repeated calls with one seed still touch different posts once posts are added; use a
    new seed per round to be sure. Returns changed paths in index order, then added ones.
    """
    if changed < 0 or added < 0:
        raise ValueError("changed and added must be >= 0")
    root = Path(root)
    posts = existing_posts(root)
    if changed > len(posts):
        raise ValueError(f"cannot change {changed} posts; {root} holds {len(posts)}")
    following = max(posts, default=-1) + 1
    if following + added > SPAN:
        raise ValueError(f"at most {SPAN} posts have distinct dates")
    chooser = random.Random(f"feedsvc-bench-mutate/{seed}/{len(posts)}/{following}")
    chosen = sorted(chooser.sample(sorted(posts), changed))
    for index in chosen:
        rng = random.Random(f"feedsvc-bench-change/{seed}/{following}/{index}")
        _rewrite(posts[index], rng)
    new_paths, _ = _write(root, range(following, following + added), seed)
    return [posts[index] for index in chosen] + new_paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: generate a corpus and print how many posts and bytes it holds."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus", description="Write a synthetic feedsvc benchmark corpus."
    )
    parser.add_argument("root", type=Path, help="folder to create (must be new or empty)")
    parser.add_argument("--posts", type=int, required=True, help="number of posts")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    args = parser.parse_args(argv)
    try:
        total = generate_counted(args.root, args.posts, args.seed)
    except (ValueError, FileExistsError) as error:
        parser.error(str(error))
    print(f"{args.posts} posts, {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
