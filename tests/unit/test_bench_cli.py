"""bench/run.py's command line: no suite named runs every self-contained one (Python 3.11's argparse refused it)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _examday() -> ModuleType:
    """bench/examday.py, imported as bench/run.py imports it (from the bench's folder)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import examday
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return examday


def test_no_suite_named_runs_every_self_contained_suite() -> None:
    bench = _bench()
    assert bench.parse_args([]).suites == ["certificates", "load", "pdf", "sandbox"]
    assert bench.parse_args(["examday", "--candidates", "100", "--quick"]).suites == ["examday"]  # when named


def test_named_suites_run_alone_in_the_order_given() -> None:
    bench = _bench()
    assert bench.parse_args(["pdf", "load", "--requests", "10"]).suites == ["pdf", "load"]


def test_an_unknown_suite_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["load", "nosuch"])
    assert exit_info.value.code == 2
    assert "unknown suite nosuch" in capsys.readouterr().err


def test_the_exam_day_start_spike_runs_alone_when_asked() -> None:
    """``--start-only``: each candidate stops on the first question's page (the spike alone)."""
    examday = _examday()
    bench = _bench()
    assert examday.Shape.from_args(bench.parse_args(["examday", "--start-only"])).start_only
    assert not examday.Shape.from_args(bench.parse_args(["examday", "--quick"])).start_only


def test_the_machines_python_speed_is_measured_in_milliseconds() -> None:
    """The exam-day result's ``cpu.python_loop_ms``: runs on machines of different speed compare
    only beside their own loop time."""
    examday = _examday()
    assert 0 < examday.python_loop_ms() < 10_000


def test_the_exam_day_deadline_run_gives_every_test_time_for_its_answers() -> None:
    """``--deadline``: nobody submits, every test ends by the clock after its answers were given."""
    examday = _examday()
    bench = _bench()
    shape = examday.Shape.from_args(bench.parse_args(["examday", "--quick", "--deadline"]))
    assert shape.deadline and not examday.Shape.from_args(bench.parse_args(["examday", "--quick"])).deadline
    assert shape.time_limit_seconds > shape.answers * shape.think[1] + shape.prefetch_spread
    exam = examday.Exam.read('<div data-attempt="7" data-total="30" data-next-seq="4"><strong id="clock" data-time-left="125">',
                             "/theory/attempts/7/q/1")
    assert exam.ends_at is not None and 120 < exam.ends_at - examday.time.monotonic() <= 125
    exam.clock("junk")  # an answer without a clock leaves it as it was
    assert 120 < exam.ends_at - examday.time.monotonic() <= 125
