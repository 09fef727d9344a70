"""Settings: defaults < config file < FEEDSVC_* environment < flags; mistakes are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from feedsvc.cli import main
from feedsvc.settings import Settings, SettingsError, load_settings, table
from tests.conftest import EXAMPLE_CONFIG, EXAMPLES


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "feedsvc.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_when_nothing_is_given(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    defaults = {name: default for name, default, _ in table()}
    assert settings.item_limit == defaults["item_limit"] == 20
    assert settings.timezone == "UTC"
    assert settings.base_url == "http://localhost:8000/"
    assert settings.link_root == settings.base_url, "site_url defaults to base_url"
    assert settings.content_dir == str((tmp_path / "content").resolve())


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config", 'title = "file"\nitem_limit = 5\nlanguage = "zh-CN"\n'
    )
    environ = {"FEEDSVC_TITLE": "env", "FEEDSVC_ITEM_LIMIT": "7"}

    file_only = load_settings(config_file=config, environ={}, cwd=tmp_path)
    with_env = load_settings(config_file=config, environ=environ, cwd=tmp_path)
    with_flags = load_settings(
        config_file=config, environ=environ, overrides={"title": "flag"}, cwd=tmp_path
    )

    assert (file_only.title, file_only.item_limit, file_only.language) == ("file", 5, "zh-CN")
    assert (with_env.title, with_env.item_limit, with_env.language) == ("env", 7, "zh-CN")
    assert (with_flags.title, with_flags.item_limit, with_flags.language) == ("flag", 7, "zh-CN")


def test_flags_left_unset_do_not_override(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"FEEDSVC_TITLE": "env"}, overrides={"title": None}, cwd=tmp_path
    )
    assert settings.title == "env"


def test_config_file_is_found_in_config_folder_or_named_by_feedsvc_config(tmp_path: Path) -> None:
    write_config(tmp_path / "config", 'title = "default place"\n')
    write_config(tmp_path / "elsewhere", 'title = "named"\n')
    assert load_settings(environ={}, cwd=tmp_path).title == "default place"
    named = {"FEEDSVC_CONFIG": "elsewhere/feedsvc.toml"}
    assert load_settings(environ=named, cwd=tmp_path).title == "named"


def test_relative_content_dir_in_a_file_is_relative_to_that_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", 'content_dir = "../posts"\n')
    settings = load_settings(config_file=config, environ={}, cwd=tmp_path / "somewhere")
    assert settings.content_dir == str((tmp_path / "posts").resolve())


def test_the_bundled_config_points_at_the_example_content() -> None:
    settings = load_settings(config_file=EXAMPLE_CONFIG, environ={}, cwd=Path("/"))
    assert Path(settings.content_dir) == EXAMPLES.resolve()


def test_values_from_the_environment_are_parsed_like_the_file(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "FEEDSVC_ITEM_LIMIT": "30",
            "FEEDSVC_ALLOW_EMPTY": "yes",
            "FEEDSVC_THUMBNAIL_FIELDS": "cover,thumbnail",
            "FEEDSVC_CATEGORY_MAP": "新媒体=new-media,C++=cpp",
            "FEEDSVC_BASE_URL": "https://feeds.example.org/sub",
        },
        cwd=tmp_path,
    )
    assert settings.item_limit == 30
    assert settings.allow_empty is True
    assert settings.thumbnail_fields == ("cover", "thumbnail")
    assert settings.category_map == {"新媒体": "new-media", "C++": "cpp"}
    assert settings.base_url == "https://feeds.example.org/sub/"


@pytest.mark.parametrize(
    ("layer", "name"),
    [("file", "colour"), ("env", "colour"), ("flag", "colour"), ("file", "itemlimit")],
)
def test_an_unknown_setting_is_an_error_naming_it(tmp_path: Path, layer: str, name: str) -> None:
    kwargs: dict[str, Any] = {"environ": {}, "cwd": tmp_path}
    if layer == "file":
        kwargs["config_file"] = write_config(tmp_path / "config", f'{name} = "x"\n')
    elif layer == "env":
        kwargs["environ"] = {f"FEEDSVC_{name.upper()}": "x"}
    else:
        kwargs["overrides"] = {name: "x"}
    with pytest.raises(SettingsError, match=f"unknown setting '{name}'"):
        load_settings(**kwargs)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("item_limit", "0"),
        ("item_limit", "many"),
        ("item_limit", True),
        ("summary_length", 5),
        ("timezone", "Mars/Olympus_Mons"),
        ("base_url", "feeds.example.org"),
        ("base_url", "ftp://feeds.example.org/"),
        ("site_url", "https://example.com/?q=1"),
        ("category_map", "no-equals-sign"),
        ("allow_empty", "perhaps"),
        ("refresh", "every now and then"),
        ("log_level", "LOUD"),
        ("title", ["a", "list"]),
    ],
)
def test_an_invalid_value_is_an_error_naming_the_setting(
    tmp_path: Path, name: str, value: Any
) -> None:
    with pytest.raises(SettingsError, match=f"setting '{name}'"):
        load_settings(environ={}, overrides={name: value}, cwd=tmp_path)


def test_a_broken_config_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", "title = \n")
    with pytest.raises(SettingsError, match=r"feedsvc\.toml"):
        load_settings(config_file=config, environ={}, cwd=tmp_path)


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    with pytest.raises(AttributeError):
        settings.title = "changed"  # type: ignore[misc]
    assert isinstance(settings, Settings)


# -- the same rules through the command line ------------------------------------------------


def test_cli_flag_beats_environment_beats_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path / "config", 'title = "file"\ndescription = "from file"\nitem_limit = 3\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["settings", "--title", "flag"],
        env={"FEEDSVC_TITLE": "env", "FEEDSVC_ITEM_LIMIT": "4"},
    )
    assert result.exit_code == 0, result.output
    lines = set(result.output.splitlines())
    assert {'title = "flag"', "item_limit = 4", 'description = "from file"'} <= lines


def test_cli_hides_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["settings"], env={"FEEDSVC_REFRESH_TOKEN": "s3cret"})
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert "refresh_token" in result.output


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--item-limit", "0"], {}, "item_limit"),
        ([], {"FEEDSVC_TIMEZONE": "Nowhere/Land"}, "timezone"),
        ([], {"FEEDSVC_NO_SUCH_THING": "1"}, "no_such_thing"),
    ],
)
def test_cli_build_refuses_bad_settings_naming_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", "--content", str(tmp_path), "--out", str(out), *args], env=env
    )
    assert result.exit_code == 2
    assert f"'{named}'" in result.output
    assert not out.exists(), "nothing is written when the settings are wrong"
