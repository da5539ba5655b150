"""forecast.progress.StepProgress: plain lines off a terminal, one live task per step
(a bar for counted steps) on one, and results on stdout kept apart from the display."""

from __future__ import annotations

import io

from forecast.progress import StepProgress


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    steps = StepProgress(stream)
    assert not steps.live
    steps("fitting demand")
    steps("origin 2021-07-01 (1/10)")
    steps.close()
    assert stream.getvalue() == "[forecast] fitting demand\n[forecast] origin 2021-07-01 (1/10)\n"


def test_plain_lines_of_a_counted_step_show_elapsed_and_left(monkeypatch):
    import forecast.progress as fp

    clock = iter([100.0, 130.0, 190.0, 200.0])
    monkeypatch.setattr(fp.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    steps = StepProgress(stream)
    steps("origin 2021-07-01 (1/4)")  # t = 100: the step starts
    steps("origin 2022-01-01 (2/4)")  # 30 s for one item: 3 left, about 90 s
    steps("origin 2022-07-01 (3/4)")  # 90 s for two: 2 left, about 90 s
    steps("sensitivity")
    steps("origin 2023-01-01 (1/2)")  # a new step starts afresh
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[forecast] origin 2021-07-01 (1/4)"
    assert lines[1] == "[forecast] origin 2022-01-01 (2/4) · 0:30 elapsed, about 1:30 left"
    assert lines[2] == "[forecast] origin 2022-07-01 (3/4) · 1:30 elapsed, about 1:30 left"
    assert lines[3:] == ["[forecast] sensitivity", "[forecast] origin 2023-01-01 (1/2)"]


def test_live_display_counts_items_of_one_step_and_finishes_every_task():
    stream = io.StringIO()
    with StepProgress(stream, live=True) as steps:
        steps("fitting demand")
        for i in range(1, 4):
            steps(f"origin 202{i}-01-01 ({i}/3)")
        tasks = steps._progress.tasks
        assert len(tasks) == 2  # one uncounted step, one counted step with a bar
        assert tasks[1].total == 3 and tasks[1].completed == 2
        assert tasks[0].finished
        steps("rendering figures")
        assert steps._progress.tasks[1].finished
    assert steps._progress is None
    assert "rendering figures" in stream.getvalue()


def test_results_written_to_stdout_stop_the_display_first():
    from forecast.cli import _SafeOutput

    display, results = io.StringIO(), io.StringIO()
    steps = StepProgress(display, live=True)
    steps("fitting demand")
    out = _SafeOutput(results, steps)
    out.write("median 2028.3 \x1b[2J\n")
    assert steps._progress is None
    assert results.getvalue() == "median 2028.3 \\x1b[2J\n"


def test_rich_markup_in_user_text_is_shown_not_parsed():
    """A scenario name like "a[/b]" is text: with markup on, rich would raise MarkupError."""
    stream = io.StringIO()
    with StepProgress(stream, live=True) as steps:
        steps("scenario a[/b]: 100,000 joint draws")
    assert "a[/b]" in stream.getvalue()


def test_messages_from_threads_stay_whole_lines():
    """run_scenarios(workers=2) reports from two threads: no line is split or merged."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    class SlowStream(io.StringIO):
        def write(self, text):  # yields between a line and its newline, as a pipe may
            time.sleep(0.0005)
            return super().write(text)

    stream = SlowStream()
    steps = StepProgress(stream)
    barrier = threading.Barrier(2)

    def report(worker):
        barrier.wait()
        for i in range(40):
            steps(f"worker {worker} message {i}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(report, (0, 1)))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 80
    assert all(line.startswith("[forecast] worker ") for line in lines), lines[:5]
