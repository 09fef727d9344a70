"""CLI: ``feedsvc build | check | serve | settings``, thin wrappers over the pipeline.

Every setting is also a flag (``--item-limit 30``), generated from the settings table, so
the help here and the README's table cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, logs
from .build import Builder, Result
from .gunicorn_conf import DEDICATED_BUILDER_ENV
from .service import Service, running
from .settings import (
    CONFIG_ENV,
    ENV_PREFIX,
    Settings,
    SettingsError,
    default_state_dir,
    load_settings,
    markdown_table,
    shown,
    table,
)
from .snapshot import write

F = TypeVar("F", bound=Callable[..., Any])


def setting_options(func: F) -> F:
    """Add ``--config`` and one ``--<setting>`` flag per setting to a command."""
    for name, default, help_text in reversed(table()):
        flags = ["--" + name.replace("_", "-")]
        if name == "content_dir":
            flags.append("--content")  # the short spelling the README and cron lines use
        text = shown(default)
        func = click.option(
            *flags, name, default=None, metavar="VALUE", help=f"{help_text} [default: {text}]"
        )(func)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path),
        default=None,
        help="TOML settings file (default: $FEEDSVC_CONFIG, else config/feedsvc.toml if present).",
    )(func)


def settings_from(options: dict[str, Any]) -> Settings:
    """Settings from the flags given, over the environment and the config file."""
    config_file = options.pop("config_file", None)
    overrides = {k: v for k, v in options.items() if k in {r[0] for r in table()}}
    for name in overrides:
        options.pop(name)
    try:
        return load_settings(config_file=config_file, environ=os.environ, overrides=overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def _run_once(settings: Settings) -> Result:
    """One build with the persistent post cache, for the one-shot commands."""
    try:
        with Builder(settings, default_state_dir(settings, os.environ)) as builder:
            return builder.run(datetime.now(UTC))
    except OSError as exc:
        raise click.ClickException(f"cannot scan {settings.content_dir}: {exc}") from None


@click.group()
@click.version_option(__version__, prog_name="feedsvc")
def main() -> None:
    """Serve every category of a folder of Hexo-style posts as RSS, Atom and JSON feeds."""


@main.command()
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write the feeds into (replaced atomically).",
)
@setting_options
def build(out: Path, **options: Any) -> None:
    """Build every feed once and write them as static files (the cron command)."""
    settings = settings_from(options)
    logs.configure(settings.log_level)
    result = _run_once(settings)
    write(result.snapshot, out)
    s = result.stats
    click.echo(
        f"{s['posts']} posts, {s['categories']} categories, {s['feeds']} feeds, "
        f"{s['errors']} errors, {s['warnings']} warnings -> {out}"
    )


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the settings table (as in the README).")
@setting_options
def show_settings(markdown: bool, **options: Any) -> None:
    """Print the effective settings (secrets hidden), one ``name = value`` per line."""
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    settings = settings_from(options)
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.metadata.get("secret") and value:
            value = "********"
        click.echo(f"{f.name} = {json.dumps(value, ensure_ascii=False, default=list)}")


@main.command()
@click.option("--host", default=None, help="Interface to listen on [default: $HOST or 0.0.0.0].")
@click.option("--port", type=int, default=None, help="Port [default: $PORT or 8000].")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes [default: $WEB_CONCURRENCY or one per core].",
)
@setting_options
def serve(host: str | None, port: int | None, workers: int | None, **options: Any) -> None:
    """Serve the feeds over HTTP with gunicorn, rescanning on the refresh schedule."""
    from gunicorn.app.base import BaseApplication

    from . import gunicorn_conf
    from .app import create_app

    _export(options)
    settings = settings_from(options)
    logs.configure(settings.log_level)
    config = {
        name: value for name, value in vars(gunicorn_conf).items() if not name.startswith("_")
    }
    if host is not None or port is not None:
        default_host, _, default_port = config["bind"].rpartition(":")
        config["bind"] = f"{host or default_host}:{port or default_port}"
    if workers is not None:
        config["workers"] = workers

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in config.items():
                if key in self.cfg.settings:  # the module's other names are not settings
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(settings)

    click.echo(
        f"serving {settings.content_dir} at {settings.base_url} "
        f"(listening on {config['bind']}, {config['workers']} workers)"
    )
    Server().run()


def _export(options: dict[str, Any]) -> None:
    """Put the flags given into the environment, so that the builder process that
    gunicorn starts beside the workers (see gunicorn_conf) has the same settings."""
    names = {row[0] for row in table()}
    for name, value in options.items():
        if name in names and value is not None:
            os.environ[ENV_PREFIX + name.upper()] = str(value)
    if options.get("config_file") is not None:
        os.environ[CONFIG_ENV] = str(Path(options["config_file"]).resolve())


@main.command()
@setting_options
def builder(**options: Any) -> None:
    """Run only the builder: rescan on the schedule and publish snapshots for the servers
    of this host (``feedsvc serve`` and the Procfile start one beside their workers)."""
    settings = settings_from(options)
    logs.configure(settings.log_level)
    service = Service(settings, default_state_dir(settings, os.environ))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    parent = os.getppid()
    beside_server = bool(os.environ.get(DEDICATED_BUILDER_ENV))
    with running(service):
        # Started by a server: end with it, even if it was killed without notice.
        while not stop.wait(1.0):
            if beside_server and os.getppid() != parent:
                break


def _count(n: int, one: str, many: str = "") -> str:
    """``1 file``, ``2 files``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


@main.command()
@setting_options
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format."
)
def check(fmt: str, **options: Any) -> None:
    """Scan without serving and list every problem, one line each (file, severity, field,
    what is wrong, what was done), then a summary. Exit status 1 when any problem is an
    error (a post was skipped), 0 otherwise: run it in a content repository's CI."""
    settings = settings_from(options)
    logging.basicConfig(level="CRITICAL")  # the problems are the output; no log lines too
    try:
        with Builder(settings) as builder:  # no state_dir: check never writes anything
            result = builder.run(datetime.now(UTC))
    except OSError as exc:
        raise click.ClickException(f"cannot scan {settings.content_dir}: {exc}") from None
    s = result.stats
    errors, warnings = s["errors"], s["warnings"]
    if fmt == "json":
        report = {
            "ok": errors == 0,
            "content_dir": settings.content_dir,
            "files": s["files"],
            "posts": s["posts"],
            "held_until_their_date": s["held_until_their_date"],
            "categories": s["categories"],
            "errors": errors,
            "warnings": warnings,
            "problems": [p.as_dict() for p in result.problems],
        }
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        for problem in result.problems:
            click.echo(problem.line())
        scanned = (
            f"{_count(s['files'], 'file')} scanned, {_count(s['posts'], 'post')} published, "
            f"{s['held_until_their_date']} held until their date, "
            f"{_count(s['categories'], 'category', 'categories')}"
        )
        if result.problems:
            files = _count(len({p.file for p in result.problems}), "file")
            click.echo(
                f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {files} ({scanned})"
            )
        else:
            click.echo(f"no problems ({scanned})")
    sys.exit(1 if errors else 0)
