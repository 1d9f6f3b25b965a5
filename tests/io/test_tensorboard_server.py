"""README's command for real: ``tensorboard --logdir`` (the server [all] installs) serves a
run that TensorBoardLogger wrote: the run, its scalars, histograms and graph over HTTP."""
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.io import TensorBoardLogger

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")
TENSORBOARD = shutil.which("tensorboard", path=os.path.dirname(sys.executable) + os.pathsep +
                           os.environ.get("PATH", ""))


def _serve(log_dir):
    """Start ``tensorboard --logdir log_dir`` on a free port; its process and base URL
    (a failure to start within a minute is a test failure, never a hang)."""
    server = subprocess.Popen([TENSORBOARD, "--logdir", str(log_dir), "--port", "0",
                               "--host", "127.0.0.1"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout],
                     daemon=True).start()
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        found = re.search(r"(http://127\.0\.0\.1:\d+)/", seen[-1])  # "TensorBoard 2.x at"
        if found:
            return server, found.group(1)
    server.kill()
    server.wait()
    pytest.fail("tensorboard did not start:\n" + "".join(seen))


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
@pytest.mark.skipif(TENSORBOARD is None, reason="the tensorboard command is not installed: "
                    "pip install 'chainrule[all]'")
def test_tensorboard_logdir_serves_what_the_logger_wrote(tmp_path):
    chainrule.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = chainrule.models.MLP(4, (8,), 2)
    chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), (x, y),
                  epochs=2, batch_size=16, callbacks=[TensorBoardLogger(str(tmp_path))])
    server, url = _serve(tmp_path)
    try:
        for _ in range(60):                           # the first load is asynchronous
            runs = _get(url + "/data/runs")
            if runs and "train/loss" in _get(url + "/data/plugin/scalars/tags").get(runs[0],
                                                                                     {}):
                break
            time.sleep(0.5)
        (run,) = runs
        assert {"train/loss", "train/loss_step", "lr"} <= set(
            _get(url + "/data/plugin/scalars/tags")[run])
        steps = _get(f"{url}/data/plugin/scalars/scalars?run={run}&tag=train/loss_step")
        assert [step for _, step, _ in steps] == [1, 2, 3, 4]
        names = [name for name, _ in model.named_parameters()]
        assert set(_get(url + "/data/plugin/histograms/tags")[run]) == \
            {f"{kind}/{name}" for kind in ("weights", "grads") for name in names}
        assert _get(url + "/data/plugin/graphs/info")[run]["run_graph"] is True
    finally:
        server.terminate()
        server.wait(timeout=30)
