"""Settings: declared once, as one table, loaded from four layers.

Every setting is a field of :class:`Settings` whose metadata carries its help text and
its parser. That one declaration drives the defaults, the validation, ``feedsvc settings``,
the CLI help and the README's settings table (``tests/test_settings.py`` checks that the
README matches). Values come, lowest first, from the defaults, a TOML file in ``config/``,
``FEEDSVC_*`` environment variables, and command-line flags. An unknown or invalid value
is a :class:`SettingsError` that names the setting, where it came from and why it is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

T = TypeVar("T")

#: Environment variables that configure feedsvc start with this.
ENV_PREFIX = "FEEDSVC_"
#: The environment variable naming the configuration file (not a setting itself).
CONFIG_ENV = "FEEDSVC_CONFIG"
#: The configuration file used when none is named and it exists in the working directory.
DEFAULT_CONFIG_FILE = Path("config") / "feedsvc.toml"


class SettingsError(ValueError):
    """A setting is unknown or has a value that cannot be used."""


# -- parsers: each takes a raw value (TOML-typed, or a string from env/CLI) -------------


def _text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"expected a string, got {type(raw).__name__}")
    return str(raw)


def _url(raw: Any) -> str:
    value = _text(raw).strip()
    if value == "":
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} must not have a query or fragment")
    return value.rstrip("/") + "/"


def _int_at_least(minimum: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError("expected a whole number, got a boolean")
        try:
            value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
        except (TypeError, ValueError):
            value = None
        if value is None:
            raise ValueError(f"{raw!r} is not a whole number")
        if value < minimum:
            raise ValueError(f"{value} is less than {minimum}")
        return value

    return parse


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{raw!r} is not a boolean (use true or false)")


def _names(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        stripped = raw.strip()
        items: Any = json.loads(stripped) if stripped.startswith("[") else stripped.split(",")
    else:
        items = raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError("expected a list of names")
    return tuple(i.strip() for i in items if i.strip())


def _mapping(raw: Any) -> dict[str, str]:
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped.startswith("{"):
            raw = json.loads(stripped)
        else:
            pairs = [p for p in stripped.split(",") if p.strip()]
            if any("=" not in p for p in pairs):
                raise ValueError("expected NAME=SLUG pairs separated by commas, or JSON")
            raw = dict(p.split("=", 1) for p in pairs)
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ValueError("expected a table of name = slug strings")
    return {k.strip(): v.strip() for k, v in raw.items()}


def _timezone(raw: Any) -> str:
    name = _text(raw).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone such as UTC or Asia/Shanghai") from exc
    return name


_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?]+$")


def _schedule(raw: Any) -> str:
    """A rescan schedule: seconds between scans, or a five-field crontab expression."""
    text = _text(raw).strip()
    if text.isdigit():
        if int(text) < 1:
            raise ValueError("the interval must be at least 1 second")
        return text
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"{text!r} is neither a number of seconds nor a 5-field crontab")
    from apscheduler.triggers.cron import CronTrigger  # validates field ranges

    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid crontab: {exc}") from exc
    return text


def _permalink(raw: Any) -> str:
    value = _text(raw).strip()
    if not value:
        raise ValueError("must not be empty")
    return value.lstrip("/")


def _log_level(raw: Any) -> str:
    value = _text(raw).strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"{raw!r} is not one of DEBUG, INFO, WARNING, ERROR")
    return value


def setting(default: Any, help: str, parse: Callable[[Any], Any], *, secret: bool = False) -> Any:
    """Declare one setting: its default, its one-line help and the parser of raw values."""
    meta = {"help": help, "parse": parse, "secret": secret}
    if isinstance(default, dict | list):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that shapes the feeds and the service. Immutable; see the module doc."""

    content_dir: str = setting(
        "content", "Folder of posts to publish (relative to the config file).", _text
    )
    base_url: str = setting(
        "http://localhost:8000/",
        "Public URL the feeds are served under; self links and feed URLs start with it.",
        _url,
    )
    site_url: str = setting(
        "", "Public URL of the site the posts live on (Hexo's url); empty means base_url.", _url
    )
    title: str = setting("feedsvc", "Title of the site feed; category feeds add their path.", _text)
    description: str = setting("", "Description of the site, for feeds and the index.", _text)
    language: str = setting("en", "Language tag of the feeds (RSS language, Atom xml:lang).", _text)
    author: str = setting("", "Author name for posts that name none.", _text)
    timezone: str = setting(
        "UTC", "Time zone for dates written without an offset, and for permalinks.", _timezone
    )
    item_limit: int = setting(20, "Most items in one feed, newest first.", _int_at_least(1))
    summary_length: int = setting(
        200, "Characters of text in a summary cut from the body.", _int_at_least(20)
    )
    thumbnail_fields: tuple[str, ...] = setting(
        (
            "thumbnail",
            "headimg",
            "cover",
            "image",
            "index_img",
            "banner_img",
            "top_img",
            "img",
            "photos",
        ),
        "Front-matter fields tried in order for a post's thumbnail; then the body's first image.",
        _names,
    )
    category_map: dict[str, str] = setting(
        {}, "Category name -> slug replacements, as in Hexo's category_map.", _mapping
    )
    category_dir: str = setting(
        "categories", "Path segment under which category feeds are published.", _text
    )
    permalink: str = setting(
        ":year/:month/:day/:title/",
        "Post link pattern under site_url (Hexo's permalink; :year :month :day :title).",
        _permalink,
    )
    max_post_bytes: int = setting(
        2_000_000, "Posts larger than this many bytes are skipped and reported.", _int_at_least(1)
    )
    refresh: str = setting(
        "300",
        "Rescan schedule: seconds between scans, or a crontab such as '*/5 * * * *'.",
        _schedule,
    )
    cache_max_age: int = setting(
        300,
        "Cache-Control max-age of feeds in seconds (RSS ttl is this in minutes).",
        _int_at_least(0),
    )
    refresh_token: str = setting(
        "", "Bearer token for POST /-/refresh; empty turns the endpoint off.", _text, secret=True
    )
    allow_empty: bool = setting(
        False, "Publish a rescan that finds no posts even when the last one found some.", _bool
    )
    state_dir: str = setting(
        "",
        "Folder for the post cache and built snapshots; empty picks one under the user cache.",
        _text,
    )
    log_level: str = setting("INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.", _log_level)

    @property
    def link_root(self) -> str:
        """Where post links and relative URLs resolve: site_url, else base_url."""
        return self.site_url or self.base_url

    def output_key(self) -> str:
        """A digest of every setting that shapes the output bytes (not secrets or paths)."""
        shaping = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _NOT_OUTPUT
        }
        blob = json.dumps(shaping, sort_keys=True, ensure_ascii=False, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


_NOT_OUTPUT = {"refresh_token", "state_dir", "log_level", "refresh", "allow_empty", "content_dir"}
_PATH_SETTINGS = ("content_dir", "state_dir")


def table() -> list[tuple[str, Any, str]]:
    """The settings as (name, default, help) rows, in declaration order."""
    rows = []
    for f in dataclasses.fields(Settings):
        factory: Callable[[], Any] = f.default_factory  # type: ignore[assignment]
        default = f.default if f.default is not dataclasses.MISSING else factory()
        rows.append((f.name, default, str(f.metadata["help"])))
    return rows


def shown(default: Any) -> str:
    """A default value as people write it in TOML-ish text (for help and the README)."""
    if isinstance(default, tuple):
        return ", ".join(default)
    if isinstance(default, dict):
        return json.dumps(default)
    return str(default).lower() if isinstance(default, bool) else str(default)


def markdown_table() -> str:
    """The settings as the Markdown table the README carries (checked by a test)."""
    lines = ["| setting | environment | default | meaning |", "|---|---|---|---|"]
    for name, default, help_text in table():
        text = shown(default).replace("|", "\\|")
        cell = f"`{text}`" if text else "*(empty)*"
        lines.append(f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | {cell} | {help_text} |")
    return "\n".join(lines) + "\n"


def _apply(values: dict[str, Any], layer: Mapping[str, Any], origin: str, base: Path) -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for name, raw in layer.items():
        if name not in fields:
            raise SettingsError(f"unknown setting {name!r} ({origin})")
        try:
            value = fields[name].metadata["parse"](raw)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise SettingsError(f"setting {name!r} ({origin}): {exc}") from None
        if name in _PATH_SETTINGS and value:
            value = str((base / value).resolve())
        values[name] = value


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge defaults < config file < ``FEEDSVC_*`` environment < overrides into Settings.

    ``config_file`` defaults to ``$FEEDSVC_CONFIG``, else ``config/feedsvc.toml`` when it
    exists under ``cwd``. Relative paths in the file resolve against the file's folder;
    those from the environment or overrides resolve against ``cwd``.
    """
    environ = {} if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    values: dict[str, Any] = {}

    if config_file is None and environ.get(CONFIG_ENV):
        config_file = cwd / environ[CONFIG_ENV]
    if config_file is None and (cwd / DEFAULT_CONFIG_FILE).is_file():
        config_file = cwd / DEFAULT_CONFIG_FILE
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise SettingsError(f"config file {config_file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {config_file}: {exc}") from None
        _apply(values, data, f"in {config_file}", config_file.resolve().parent)

    env_layer = {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key != CONFIG_ENV
    }
    _apply(values, env_layer, "from the environment", cwd)
    _apply(values, {k: v for k, v in (overrides or {}).items() if v is not None}, "flag", cwd)
    values.setdefault("content_dir", str((cwd / "content").resolve()))
    return Settings(**values)


def default_state_dir(settings: Settings, environ: Mapping[str, str]) -> Path:
    """The state folder: the setting, else one per content folder under the user cache."""
    if settings.state_dir:
        return Path(settings.state_dir)
    cache_home = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.sha256(
        f"{settings.content_dir}\0{settings.output_key()}".encode()
    ).hexdigest()[:12]
    return Path(cache_home) / "feedsvc" / digest
