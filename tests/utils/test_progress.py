"""Progress off a terminal: whole lines, not a redrawn bar."""

import io

from topk_distill.utils import progress


def test_off_a_terminal_fit_prints_epochs_and_bars_print_lines(monkeypatch,
                                                               capsys):
    monkeypatch.setattr("sys.stdout", io.StringIO())  # not a TTY
    assert progress.fit_verbose("auto") == 2
    assert progress.fit_verbose(1) == 1
    monkeypatch.undo()
    now = [0.0]
    monkeypatch.setattr("time.time", lambda: now[0])
    bar = progress.progress_bar(100, unit_name="example")
    for step in range(1, 101):
        now[0] += 10.0
        bar.update(step)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    # 100 updates 10 s apart: a line each 30 s, and the last
    lines = [line for line in out.split("\n") if line.strip()]
    assert 30 <= len(lines) <= 36, lines
    assert "100/100" in lines[-1]


def test_on_a_terminal_fit_draws_the_bar(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", Terminal())
    assert progress.fit_verbose("auto") == 1
