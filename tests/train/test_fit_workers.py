"""fit on a DataLoader with worker processes: the workers load the batches on the
distributed path too (where fit rebuilds the loader around a DistributedSampler), and the
run is the one the same loader with num_workers=0 gives."""
import os

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import DataLoader, Dataset
from chainrule.data.workers import get_worker_info


class WhoLoads(Dataset):
    """32 samples of a regression; each records in ``directory`` which process loaded it."""

    def __init__(self, directory):
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((32, 3)).astype(np.float32)
        self.y = self.x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
        self.directory = directory

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        info = get_worker_info()
        who = "main" if info is None else f"worker{info.id}"
        with open(os.path.join(self.directory, f"{who}-{os.getpid()}"), "a") as f:
            f.write(f"{index}\n")
        return self.x[index], self.y[index]


def _train(directory, distributed, **loader_options):
    chainrule.manual_seed(0)
    model = nn.Linear(3, 1)
    loader = DataLoader(WhoLoads(str(directory)), batch_size=8, **loader_options)
    history = chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                            loader, epochs=2, metrics=(), distributed=distributed)
    return model.weight.numpy().copy(), [row["loss"] for row in history.steps]


@pytest.mark.parametrize("distributed", [False, True], ids=["one-process", "distributed"])
def test_fit_loads_with_the_loaders_workers_and_trains_as_without_them(tmp_path, distributed):
    if distributed:
        pytest.importorskip("mpi4py")          # (without it, fit makes a world of one too)
    seen = tmp_path / "seen"
    seen.mkdir()
    weights, losses = _train(seen, distributed, num_workers=2, prefetch_factor=3,
                             worker_init_fn=lambda i: open(seen / f"init{i}", "w").close())
    loaded_by = {name.split("-")[0] for name in os.listdir(seen)}
    assert loaded_by == {"init0", "init1", "worker0", "worker1"}       # nothing in main
    indices = sorted(int(line) for name in os.listdir(seen) if name.startswith("worker")
                     for line in (seen / name).read_text().split())
    assert indices == sorted(list(range(32)) * 2)                      # 2 epochs, each once
    alone = tmp_path / "alone"
    alone.mkdir()
    expected_weights, expected_losses = _train(alone, distributed)
    assert {name.split("-")[0] for name in os.listdir(alone)} == {"main"}
    np.testing.assert_array_equal(weights, expected_weights)
    assert losses == expected_losses


TWO_RANKS = """
import numpy as np, chainrule
from chainrule import nn, optim, distributed as dist
from chainrule.data import DataLoader, TensorDataset
dist.init(timeout=60)
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 3)).astype(np.float32)
y = x.sum(1, keepdims=True)
def run(workers):
    chainrule.manual_seed(0)
    model = nn.Linear(3, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, num_workers=workers)
    history = chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                            loader, epochs=2, metrics=(), distributed=True)
    return model.weight.numpy().copy(), [row["loss"] for row in history.steps]
(w0, l0), (w2, l2) = run(0), run(2)
if dist.rank() == 0:
    print("SAME" if np.array_equal(w0, w2) and l0 == l2 else "DIFFERENT", len(l2))
"""


@pytest.mark.slow
def test_two_ranks_each_with_two_workers_train_as_without_workers(tmp_path):
    """Real MPI: workers forked by each rank after MPI started, batches from its shard."""
    import shutil
    import subprocess
    import sys
    pytest.importorskip("mpi4py")
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep +
                           os.environ.get("PATH", ""))
    if mpiexec is None:
        pytest.skip("MPI is not installed: pip install 'chainrule[distributed]'")
    script = tmp_path / "two_ranks.py"
    script.write_text(TWO_RANKS)
    result = subprocess.run([mpiexec, "-n", "2", sys.executable, str(script)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["SAME", "8"]    # 32 samples a rank, 8 a batch: 4 steps an epoch
