"""``feedsvc check``: every problem on one line (file, severity, field, what is wrong, what
was done), a summary, ``--format json`` for machines, exit status 1 when any problem is
an error, so that a content repository can run it in its own CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedsvc.cli import main
from tests.conftest import DATA, EXAMPLES, MTIME
from tests.test_cli import feedsvc_script

BAD = DATA / "bad"
#: Bad files for the broken folder, each with exactly one problem: (file, severity, field,
#: a piece of the reason).
BROKEN = [
    ("enc-binary.markdown", "error", "", "binary file"),
    ("fm-list.md", "error", "front matter", "expected a mapping of fields, got a list"),
    ("fm-malformed.md", "error", "front matter", "malformed YAML at line"),
    ("fm-none.md", "error", "", "no front matter"),
    ("fm-unterminated.md", "error", "front matter", "no closing --- line"),
    ("type-date-garbage.md", "warning", "date", "cannot read 'next Tuesday"),
    ("type-title-bool.md", "warning", "title", "missing or empty"),
]
GOOD = "---\ntitle: Fine\ndate: 2021-04-07T12:03:06Z\ncategories: [News]\n---\nFine.\n"
CLEAN_SUMMARY = (
    "no problems (14 files scanned, 10 posts published, 1 held until their date, 11 categories)"
)
BROKEN_SUMMARY = (
    "5 errors, 2 warnings in 7 files "
    "(10 files scanned, 4 posts published, 0 held until their date, 1 category)"
)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A click runner in an empty folder (no config/feedsvc.toml), with the user cache
    moved into the test's folder so that any state written there would show."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return CliRunner()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """Two good posts and a README beside the BROKEN files: 10 files, 4 posts (the
    warned ones are published)."""
    content = tmp_path / "broken"
    content.mkdir()
    for name, *_ in BROKEN:
        shutil.copyfile(BAD / name, content / name)
    (content / "good.md").write_text(GOOD, encoding="utf-8")
    (content / "also-good.txt").write_text(GOOD.replace("Fine.", "<p>Fine.</p>"), "utf-8")
    (content / "README.txt").write_text("Not a post.\n", encoding="utf-8")
    for path in content.iterdir():
        os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    return content


def check(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(main, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_check_of_the_examples_is_clean_and_exits_0(runner: CliRunner) -> None:
    code, output = check(runner, "--content", str(EXAMPLES))
    assert (code, output) == (0, CLEAN_SUMMARY + "\n")


def test_check_lists_each_bad_file_once_with_its_reason_and_exits_1(
    runner: CliRunner, broken: Path
) -> None:
    code, output = check(runner, "--content", str(broken))
    assert code == 1
    *lines, summary = output.splitlines()
    assert summary == BROKEN_SUMMARY
    assert len(lines) == len(BROKEN)
    for (name, severity, field, reason), line in zip(BROKEN, lines, strict=True):
        where = f"{name}: {severity}: " + (f"{field}: " if field else "")
        assert line.startswith(where), line
        assert reason in line and line.endswith(")"), line
    for name in ("good.md", "also-good.txt", "README.txt"):
        assert name not in output


def test_check_json_is_the_same_report_for_machines(runner: CliRunner, broken: Path) -> None:
    code, output = check(runner, "--content", str(broken), "--format", "json")
    assert code == 1
    report = json.loads(output)
    assert report["ok"] is False
    assert report["content_dir"] == str(broken)
    assert (report["files"], report["posts"], report["categories"]) == (10, 4, 1)
    assert (report["errors"], report["warnings"]) == (5, 2)
    assert [(p["file"], p["severity"], p["field"]) for p in report["problems"]] == [
        (name, severity, field) for name, severity, field, _ in BROKEN
    ]
    for problem, (*_, reason) in zip(report["problems"], BROKEN, strict=True):
        assert set(problem) == {"file", "field", "reason", "action", "severity"}
        assert reason in problem["reason"] and problem["action"]
    _, clean = check(runner, "--content", str(EXAMPLES), "--format", "json")
    assert json.loads(clean)["ok"] is True and json.loads(clean)["problems"] == []


def test_warnings_alone_exit_0(runner: CliRunner, tmp_path: Path) -> None:
    content = tmp_path / "warned"
    content.mkdir()
    shutil.copyfile(BAD / "type-date-garbage.md", content / "type-date-garbage.md")
    code, output = check(runner, "--content", str(content))
    assert code == 0
    assert output.splitlines()[-1].startswith("0 errors, 1 warning in 1 file (")


def test_check_of_a_missing_folder_fails_with_a_message(runner: CliRunner, tmp_path: Path) -> None:
    code, output = check(runner, "--content", str(tmp_path / "missing"))
    assert code == 1
    assert "cannot scan" in output and "missing" in output


def test_check_writes_nothing(runner: CliRunner, broken: Path, tmp_path: Path) -> None:
    before = sorted(p for p in tmp_path.rglob("*"))
    check(runner, "--content", str(broken))
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_file_names_that_would_break_lines_are_escaped(runner: CliRunner, tmp_path: Path) -> None:
    content = tmp_path / "names"
    content.mkdir()
    (content / "line\nbreak.md").write_text("# no front matter\n", encoding="utf-8")
    with open(os.fsencode(content) + b"/latin1-\xe9.md", "wb") as fh:
        fh.write(GOOD.encode())
    code, output = check(runner, "--content", str(content))
    assert code == 1
    assert output.splitlines()[:2] == [
        "latin1-\\xe9.md: error: name is not valid UTF-8 (skipped; rename it)",
        "line\\nbreak.md: error: no front matter (a post starts with ---) (skipped)",
    ]


def test_installed_command_gives_the_same_output_and_status(broken: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [feedsvc_script(), "check", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    outputs = {}
    for fmt in ("text", "json"):
        done = run("--content", str(broken), "--format", fmt)
        assert done.returncode == 1, done.stderr
        assert done.stderr == "", "problems go to standard output only, once"
        outputs[fmt] = done.stdout
    assert outputs["text"].splitlines()[-1] == BROKEN_SUMMARY
    assert len(json.loads(outputs["json"])["problems"]) == len(BROKEN)
    clean = run("--content", str(EXAMPLES))
    assert (clean.returncode, clean.stdout) == (0, CLEAN_SUMMARY + "\n")
