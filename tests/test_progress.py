import io

from s2s.progress import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_file_or_pipe_gets_whole_lines_not_carriage_returns():
    log = io.StringIO()
    for _ in progress(range(5), file=log, interval=0, desc="epoch 1", unit="batch", miniters=1):
        pass
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0].startswith("epoch 1:") and lines[-1].startswith("epoch 1: 100%") and "5/5" in lines[-1]
    assert len(lines) >= 5  # one line per update at interval 0


def test_a_file_gets_at_most_a_line_per_interval():
    log = io.StringIO()
    for _ in progress(range(1000), file=log, interval=3600, desc="epoch 1", leave=False):
        pass
    assert len(log.getvalue().splitlines()) <= 2  # the first redraw, and none after within the hour


def test_a_terminal_gets_the_live_bar():
    screen = Terminal()
    for _ in progress(range(3), file=screen, desc="epoch 1", mininterval=0, miniters=1):
        pass
    assert "\r" in screen.getvalue()
