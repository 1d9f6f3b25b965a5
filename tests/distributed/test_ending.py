"""The ranks of an MPI job end together: a rank that stops with a handled error, calls
sys.exit, or freezes ends the whole job within a bound, naming the rank, with no process left
behind (real 2-process runs under mpiexec; skipped when MPI is not installed)."""
import os
import subprocess
import sys
import time

import pytest

from .test_mpi import MPIEXEC

pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="MPI is not installed: "
                                "pip install 'chainrule[distributed]'")

BOUND = 60          # seconds any of these jobs may take to end

SCRIPT = """
import os, signal, sys, chainrule
from chainrule import distributed as dist
mode = sys.argv[1]
dist.init(timeout=float(os.environ.get("TEST_TIMEOUT", "600")))
if mode == "handled" and dist.rank() == 0:
    print("chainrule train: error: --out runs/x: permission denied", file=sys.stderr)
    sys.exit(2)
if mode == "exit" and dist.rank() == 1:
    sys.exit(1)
if mode == "freeze" and dist.rank() == 1:
    os.kill(os.getpid(), signal.SIGSTOP)
dist.all_reduce(chainrule.ones(3))       # the other rank waits here
print("NOT REACHED" if mode != "ok" else "OK", flush=True)
"""


def _job(tmp_path, *args, env=None):
    script = tmp_path / "job.py"
    if not script.exists():
        script.write_text(SCRIPT)
    started = time.monotonic()
    result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script), *args],
                            capture_output=True, text=True, timeout=BOUND,
                            env=dict(os.environ, **(env or {})))
    return result, time.monotonic() - started, str(script)


def _left_behind(marker):
    """Processes whose command line names ``marker`` (after giving them a moment to go)."""
    for _ in range(50):
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                continue
        if not found:
            return []
        time.sleep(0.1)
    return found


def _one_abort_line(stderr):
    lines = [line for line in stderr.splitlines() if line.startswith("chainrule.distributed:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_job_that_ends_normally_exits_zero(tmp_path):
    result, _, script = _job(tmp_path, "ok")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("OK") == 2 and "chainrule.distributed" not in result.stderr
    assert _left_behind(script) == []


def test_rank_0_stopping_with_a_handled_error_ends_the_job_with_its_exit_code(tmp_path):
    result, seconds, script = _job(tmp_path, "handled")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("chainrule train: error: --out runs/x") == 1
    line = _one_abort_line(result.stderr)
    assert "rank 0 left the job (it exited with code 2) after 0 collectives, while rank 1 " \
           "waits for it in all_reduce (collective 1)" in line
    assert "NOT REACHED" not in result.stdout and seconds < BOUND
    assert _left_behind(script) == []


def test_a_rank_calling_sys_exit_ends_the_job(tmp_path):
    result, seconds, script = _job(tmp_path, "exit")
    assert result.returncode == 1, result.stderr
    assert "rank 1 left the job (it exited with code 1)" in _one_abort_line(result.stderr)
    assert "NOT REACHED" not in result.stdout and seconds < BOUND
    assert _left_behind(script) == []


def test_a_frozen_rank_is_named_when_the_timeout_passes(tmp_path):
    result, seconds, script = _job(tmp_path, "freeze", env={"TEST_TIMEOUT": "3"})
    assert result.returncode != 0
    line = _one_abort_line(result.stderr)
    assert "rank 0 waited 3 s in all_reduce (collective 1): rank 1 did not answer (frozen" \
           in line
    assert "init(timeout=...)" in line
    assert 3 <= seconds < 30
    assert _left_behind(script) == []


def test_an_unwritable_checkpoint_dir_fails_on_every_rank_before_any_collective(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    script = tmp_path / "fit.py"
    script.write_text(f"""
import numpy as np, chainrule
from chainrule import nn, optim, distributed as dist
dist.init()
model = nn.Linear(2, 1)
dist.DistributedDataParallel.__init__ = None      # wrapping (the first collective) must not come
chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
              (np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)), metrics=(),
              distributed=True, checkpoint_dir={str(blocker / "checkpoints")!r})
""")
    result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)],
                            capture_output=True, text=True, timeout=BOUND)
    assert result.returncode == 1
    line = _one_abort_line(result.stderr)
    assert "failed with ConfigError: fit: the checkpoint directory: cannot write into" in line
    assert "TypeError" not in result.stderr
    assert _left_behind(str(script)) == []
