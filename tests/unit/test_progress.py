"""faasm.progress: a live line on a terminal, short logs anywhere else."""

from __future__ import annotations

import io
import time

from faasm import progress
from faasm.progress import BytesProgress, StatusLine, human_bytes


class Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_off_a_terminal_it_prints_a_line_per_change_and_the_end():
    out = io.StringIO()
    with StatusLine("call 1: RUNNING", stream=out) as line:
        line.update("call 1: RUNNING")
        line.update("call 1: RUNNING")
        line.update("call 1: still")
        line.finish("call 1: SUCCESS after 0.1 s")
    lines = out.getvalue().splitlines()
    assert [entry.split(" (")[0] for entry in lines[:2]] == ["call 1: RUNNING", "call 1: still"]
    assert lines[2:] == ["call 1: SUCCESS after 0.1 s"]
    assert "\r" not in out.getvalue()


def test_off_a_terminal_an_unchanged_message_repeats_only_now_and_then(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_EVERY", 0.0)
    out = io.StringIO()
    with StatusLine("waiting", stream=out) as line:
        line.update("waiting")
    assert out.getvalue().count("waiting") == 2


def test_on_a_terminal_it_spins_in_place_then_leaves_the_final_line():
    out = Terminal()
    with StatusLine("call 2: RUNNING", stream=out) as line:
        time.sleep(0.35)
        line.finish("call 2: SUCCESS")
    text = out.getvalue()
    assert text.count("\r\x1b[2K") >= 3 and "call 2: RUNNING" in text
    assert any(frame in text for frame in progress.FRAMES)
    assert text.endswith("\r\x1b[2Kcall 2: SUCCESS\n")


def test_a_delay_keeps_quick_work_silent():
    out = Terminal()
    with StatusLine("building", stream=out, delay=5.0):
        time.sleep(0.25)
    assert out.getvalue() == ""


def test_output_above_the_line_clears_it_first():
    out = Terminal()
    with StatusLine("building", stream=out) as line:
        time.sleep(0.25)
        line.above(out).write("a warning\n")
    assert "\r\x1b[2Ka warning\n" in out.getvalue()


def test_disabled_prints_nothing():
    out = Terminal()
    with StatusLine("x", stream=out, enabled=False) as line:
        line.update("y")
        line.finish("z")
    assert out.getvalue() == ""


def test_bytes_progress_names_the_transfer_then_what_follows():
    out = Terminal()
    line = StatusLine("upload", stream=out)
    show = BytesProgress(line, "uploading", "demo/f", then="waiting for the platform")
    show(512 * 1024, 2 * 1024 * 1024)
    assert line.message == "uploading demo/f: 512.0 KiB / 2.0 MiB (25%)"
    show(2 * 1024 * 1024, 2 * 1024 * 1024)
    assert line.message == "waiting for the platform"


def test_human_bytes():
    assert [human_bytes(n) for n in (0, 1023, 1024, 5 * 1024**3)] == [
        "0 B", "1023 B", "1.0 KiB", "5.0 GiB"]
