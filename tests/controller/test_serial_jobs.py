"""Background source-estimator updates (controller/fusion/serial_jobs.py): same results
as inline, in order, failures reported."""

from __future__ import annotations

import threading

import pytest

from controller.fusion.serial_jobs import SerialJobs
from controller.picture import HazardPicture, PictureSettings
from tests.controller.test_picture import SITE, h2s, msg


def test_jobs_run_in_submission_order_on_one_other_thread() -> None:
    jobs = SerialJobs(background=True)
    done: list[tuple[int, str]] = []
    for i in range(50):
        jobs.submit(pytest.fail, lambda i=i: done.append((i, threading.current_thread().name)))
    jobs.settle()
    assert [i for i, _ in done] == list(range(50))
    names = {name for _, name in done}
    assert len(names) == 1 and names != {threading.current_thread().name}
    assert jobs.queued == 0
    jobs.close()


@pytest.mark.parametrize("background", [True, False])
def test_a_failing_job_is_reported_at_settle_and_the_rest_still_run(background: bool) -> None:
    jobs = SerialJobs(background=background)
    errors: list[str] = []
    done: list[int] = []

    def bad() -> None:
        raise ValueError("t_s: out of order")

    jobs.submit(errors.append, done.append, 1)
    jobs.submit(lambda e: errors.append(str(e)), bad)
    jobs.submit(errors.append, done.append, 2)
    jobs.settle()
    assert done == [1, 2] and errors == ["t_s: out of order"]
    jobs.close()


def test_after_close_jobs_run_inline() -> None:
    jobs = SerialJobs(background=True)
    jobs.submit(pytest.fail, lambda: None)
    jobs.close()
    seen: list[str] = []
    jobs.submit(pytest.fail, lambda: seen.append(threading.current_thread().name))
    assert seen == [threading.current_thread().name]


def _feed(p: HazardPicture) -> None:
    robots = [f"m/r{i}" for i in range(4)]
    for t in range(40):
        for i, r in enumerate(robots):
            x, y = 8.0 + 3 * i + 0.2 * t, 6.0 + 2 * i
            value = max(0.0, 9.0 - 0.5 * abs(x - 18.0) - 0.7 * abs(y - 10.0))
            p.add_readings(r, msg(x, y, h2s(value)), float(t))
        if t % 7 == 0:
            p.gas_sources()  # reads between writes, as the controller's ticks do


def test_the_picture_estimates_the_same_in_the_background_as_inline() -> None:
    inline = HazardPicture.for_site(SITE, PictureSettings(source_background=False))
    background = HazardPicture.for_site(SITE, PictureSettings(source_background=True))
    _feed(inline)
    _feed(background)
    a = inline.gas_sources()["H2S"]
    b = background.gas_sources()["H2S"]
    assert a.readings_used > 10
    assert a == b  # bit for bit: the same readings in the same order
    assert inline.summary(40.0)["gas_sources"] == background.summary(40.0)["gas_sources"]
    background.close()
    inline.close()


def test_readings_the_estimator_refuses_are_counted_and_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    p = HazardPicture.for_site(SITE, PictureSettings(source_background=True))
    p.add_readings("m/r1", msg(20, 10, h2s(6.0)), 5.0)
    est = p._sources["H2S"]
    real = est.add_readings

    def refuse_r2(robot: str, *args: object) -> None:
        if robot == "m/r2":
            raise ValueError("t_s: readings of 'm/r2' must be in time order")
        real(robot, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(est, "add_readings", refuse_r2)
    before = p.readings_skipped
    p.add_readings("m/r2", msg(21, 10, h2s(5.0)), 6.0)  # queued; fails on the thread
    p.add_readings("m/r1", msg(20, 11, h2s(5.5)), 12.0)  # still taken after the failure
    assert p.gas_sources()["H2S"].readings_used == 2
    assert p.readings_skipped == before + 1
    assert "readings of m/r2 rejected" in caplog.text
    p.close()
