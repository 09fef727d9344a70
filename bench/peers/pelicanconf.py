"""Pelican settings for the benchmark (bench/run.py): the corpus as content/**.html, one
Atom and one RSS feed per category node, nothing else.

Pelican has one flat category per article, so the leaf node (group, source and section,
joined) is the category and the two upper nodes are tags; category and tag feeds together are
feedsvc's category feeds. Article, index and listing pages are not written (every
``*_SAVE_AS`` is empty), so Pelican does its best case: feeds only, full content.
"""

AUTHOR = "bench"
SITENAME = "bench"
SITEURL = "http://127.0.0.1:8000"
FEED_DOMAIN = SITEURL
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
READERS = {"md": None, "markdown": None, "mkd": None, "mdown": None, "rst": None}

FEED_MAX_ITEMS = 20
RSS_FEED_SUMMARY_ONLY = False
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = "feeds/category/{slug}.atom.xml"
CATEGORY_FEED_RSS = "feeds/category/{slug}.rss.xml"
TAG_FEED_ATOM = "feeds/tag/{slug}.atom.xml"
TAG_FEED_RSS = "feeds/tag/{slug}.rss.xml"
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None

ARTICLE_SAVE_AS = ""
ARTICLE_LANG_SAVE_AS = ""
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
PAGE_SAVE_AS = ""
PAGE_LANG_SAVE_AS = ""
INDEX_SAVE_AS = ""
CATEGORY_SAVE_AS = ""
TAG_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
ARCHIVES_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
TAGS_SAVE_AS = ""
DIRECT_TEMPLATES: list[str] = []
THEME_STATIC_PATHS: list[str] = []
STATIC_PATHS: list[str] = []
DEFAULT_PAGINATION = False

CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
