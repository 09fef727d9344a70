"""The README says what the code does: its settings table and its commands are real."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from feedsvc.cli import main
from feedsvc.settings import markdown_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_settings_table_in_the_readme_is_the_one_the_code_declares() -> None:
    match = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", README, re.S)
    assert match is not None
    assert match.group(1) + "\n" == markdown_table()


def test_feedsvc_settings_markdown_prints_that_table() -> None:
    result = CliRunner().invoke(main, ["settings", "--markdown"])
    assert result.exit_code == 0
    assert result.output == markdown_table()


def test_the_readme_starts_with_the_run_and_test_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    assert "feedsvc serve" in blocks[0]
    assert blocks[1].strip() == ".ci/run"
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "pytest" in ci


def test_every_setting_has_a_flag_in_the_cli_help() -> None:
    result = CliRunner().invoke(main, ["build", "--help"])
    for line in markdown_table().splitlines()[2:]:
        name = line.split("`")[1]
        assert "--" + name.replace("_", "-") in result.output
