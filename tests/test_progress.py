"""The run and sweep progress bars, driven by the calls simulate and run_sweep make (no simulation)."""

import io
import time

import pytest
from tqdm import tqdm

from reservoir_motor.progress import RunProgress, SweepProgress

COMPILE_S = 1.0  # the pause before the first call, standing for numba's compilation
WORK_S = 0.15  # the pause between the first call and the next one


class Terminal(io.StringIO):
    def isatty(self):
        return True


def timing(bar) -> tuple[float, float]:
    """Elapsed and remaining seconds, as tqdm computes them for what it draws."""
    text = tqdm.format_meter(**dict(bar.format_dict, bar_format="{elapsed_s} {remaining_s}"))
    elapsed, remaining = (float(v) for v in text.split())
    return elapsed, remaining


@pytest.mark.parametrize("stream", [io.StringIO, Terminal], ids=["log", "terminal"])
@pytest.mark.parametrize("first_done", [0, 100])
def test_progress_run_clock_and_eta_start_at_the_first_call(stream, first_done):
    out = stream()
    progress = RunProgress("task seed 0", file=out)
    assert out.getvalue().strip() == "task seed 0: compiling"
    time.sleep(COMPILE_S)
    progress(first_done, 1000)
    time.sleep(WORK_S)
    progress(550, 1000)
    elapsed, remaining = timing(progress.bar)
    # 450 steps in WORK_S after the first call: the other 450 take about as long. Counting the
    # compilation would give elapsed > COMPILE_S and, from 550 steps in COMPILE_S + WORK_S, remaining > 0.9 s.
    assert WORK_S <= elapsed < COMPILE_S / 2
    assert remaining < COMPILE_S / 2
    progress(1000, 1000)
    progress.close()
    assert "100.0%" in out.getvalue() and "1.00k/1.00k" in out.getvalue()


@pytest.mark.parametrize("stream", [io.StringIO, Terminal], ids=["log", "terminal"])
def test_progress_run_steps_reported_done_at_the_first_call_are_not_in_the_rate(stream):
    progress = RunProgress("run", file=stream())
    progress(800, 1000)
    time.sleep(WORK_S)
    progress(900, 1000)
    # 100 steps in WORK_S: the last 100 take about WORK_S (with the 800 counted, a sixth of it)
    assert timing(progress.bar)[1] > WORK_S / 2


def test_progress_run_redraws_on_a_terminal_and_at_most_every_few_seconds_in_a_log():
    log, terminal = io.StringIO(), Terminal()
    for out in (log, terminal):
        progress = RunProgress("run", file=out)
        progress(0, 50)
        for done in range(1, 51):
            time.sleep(0.005)
            progress(done, 50)
        progress.close()
    # a terminal sees the bar move every 0.1 s or so; a log gets the start, and the end at close
    assert terminal.getvalue().count("%|") > log.getvalue().count("%|") == 2


def test_progress_disabled_writes_nothing():
    out = io.StringIO()
    progress = RunProgress("run", file=out, disable=True)
    progress(0, 10)
    progress(10, 10)
    progress.close()
    sweep = SweepProgress(3, 1, file=out, disable=True)
    sweep.update("done")
    sweep.close()
    assert out.getvalue() == ""


def test_progress_sweep_counts_finished_and_failed_runs_and_its_rate_leaves_out_the_runs_already_there():
    out = io.StringIO()
    sweep = SweepProgress(10, 4, file=out)
    time.sleep(0.2)
    sweep.update("done")
    sweep.update("failed")
    # 2 new runs in 0.2 s: 4 to go take about 0.4 s (counting the 4 found done would say 0.13 s)
    assert 0.3 < timing(sweep.bar)[1] < 2.0
    sweep.update("diverged")
    sweep.close()
    text = out.getvalue()
    assert text.startswith("sweep: 10 runs, 4 already done, 6 to run\n")
    assert "7/10" in text and "1 failed" in text
