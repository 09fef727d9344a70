"""The benchmark still runs: its quick mode's build and rescan parts at N = 200.

Not a measurement (no figure is checked against a time): it keeps ``python -m bench.run``
from rotting as the pipeline changes, in a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run


def test_quick_build_and_rescan_parts_print_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache, work = tmp_path / "cache", tmp_path / "work"
    work.mkdir()
    code = run.main(
        ["--quick", "--parts", "build,rescan", "--cache", str(cache), "--work", str(work)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "note: stopped early" not in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    measures = {line.split("|")[2].strip().split(" [")[0]: line for line in table[1:]}
    for name in (
        "cold build, wall",
        "cold build, CPU",
        "cold build, peak RSS (largest process)",
        "rescan, nothing changed: scan → snapshot",
        "rescan, 20 changed + 20 added: scan → snapshot",
        "rescan, 20 changed + 20 added: scan → snapshot written",
    ):
        assert name in measures, f"{name} missing from\n{out}"
        assert "| 200 " in measures[name]
    assert "[parsed 0]" in out, "an unchanged rescan parses nothing"
    assert (cache / "corpus-200-s0.done").is_file()
    assert list(work.iterdir()) == [], "the scratch folder is removed"


def test_wrk_output_is_read() -> None:
    sample = """Running 1s test @ http://127.0.0.1:8000/atom.xml
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    2.00ms  30.00ms   80.00%
    Req/Sec     7.25k   500.00     8.00k    70.00%
  Latency Distribution
     50%    4.10ms
     75%    5.00ms
     90%    6.00ms
     99%  850.00us
  7245 requests in 1.00s, 10.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   7245.00
Transfer/sec:     10.00MB
"""
    result = run.parse_wrk(sample)
    assert (result.rps, result.p50_ms, result.p99_ms) == (7245.0, 4.1, 0.85)
    assert (result.requests, result.bad_status, result.socket_errors) == (7245, 5, 3)


def test_the_table_has_one_line_per_row_and_ratios() -> None:
    rows = [
        run.Row("1", "cold build, wall", 1000, 2.0, "3", "s"),
        run.Row("5", "cold build, wall", 1000, 2.0, "3/3", "s", vs="Hugo", other=4.0),
    ]
    text = run.render_table(rows)
    lines = text.splitlines()
    assert len(lines) == 4
    assert "0.50" in lines[3] and "Hugo" in lines[3]
