"""Real 2-process runs under mpiexec (skipped with a reason when MPI is not installed)."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep +
                       os.environ.get("PATH", ""))
try:
    import mpi4py  # noqa: F401
except ImportError:
    MPIEXEC = None
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="MPI is not installed: "
                                "pip install 'chainrule[distributed]'")

TRAIN = """
import os, sys, numpy as np, chainrule
from chainrule import nn, optim, distributed as dist
dist.init()
chainrule.manual_seed(0)
rng = np.random.default_rng(0)
x = rng.standard_normal((96, 6)).astype(np.float32)
y = rng.integers(0, 3, 96)
model = chainrule.models.MLP(6, (16, 16), 3, dropout=float(sys.argv[3]))
opt = optim.Adam(model.parameters(), lr=0.01)
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
history = chainrule.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=epochs,
                        batch_size=int(sys.argv[1]), shuffle=sys.argv[3] != "0.0",
                        distributed=dist.world_size() > 1,
                        checkpoint_dir=os.path.join(sys.argv[2], "ckpt"), resume=True)
flat = np.concatenate([p.numpy().ravel() for p in model.parameters()])
gathered = dist.all_gather(chainrule.tensor(flat))
if dist.rank() == 0:
    same = all(np.array_equal(gathered[0].numpy(), g.numpy()) for g in gathered)
    np.save(os.path.join(sys.argv[2], "weights.npy"), flat)
    print("SAME" if same else "DIFFERENT", history.epochs[-1]["loss"], flush=True)
"""


def _mpirun(n, *args, tmp, timeout=120):
    script = tmp / "train.py"
    script.write_text(TRAIN)
    command = [MPIEXEC, "-n", str(n), sys.executable, str(script), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_two_ranks_stay_identical_and_match_one_process_with_twice_the_batch(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    single = subprocess.run([sys.executable, "-c", TRAIN, "16", str(one), "0.0"],
                            capture_output=True, text=True, timeout=120)
    assert single.returncode == 0, single.stderr
    result = _mpirun(2, 8, two, "0.0", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SAME")
    np.testing.assert_allclose(np.load(two / "weights.npy"), np.load(one / "weights.npy"),
                               atol=1e-6)


def test_checkpoint_of_a_two_rank_run_resumes_identically(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir(), part.mkdir()
    assert _mpirun(2, 8, full, "0.2", 4, tmp=tmp_path).returncode == 0
    assert _mpirun(2, 8, part, "0.2", 2, tmp=tmp_path).returncode == 0     # stops after 2
    resumed = _mpirun(2, 8, part, "0.2", 4, tmp=tmp_path)                   # resumes to 4
    assert resumed.returncode == 0, resumed.stderr
    assert np.array_equal(np.load(full / "weights.npy"), np.load(part / "weights.npy"))


def test_a_failing_rank_ends_the_job_instead_of_hanging(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("""
import chainrule, numpy as np
from chainrule import distributed as dist
dist.init()
if dist.rank() == 1:
    raise RuntimeError("rank one is broken")
dist.all_reduce(chainrule.ones(3))       # rank 0 would wait here forever without the abort
""")
    result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "rank one is broken" in result.stderr


def test_no_sync_accumulates_then_synchronises(tmp_path):
    script = tmp_path / "accumulate.py"
    script.write_text("""
import numpy as np, chainrule
from chainrule import nn, distributed as dist
dist.init()
chainrule.manual_seed(0)
model = dist.DistributedDataParallel(nn.Linear(3, 2))
rng = np.random.default_rng(dist.rank())
x1, x2 = (chainrule.tensor(rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(2))
with model.no_sync():
    model(x1).sum().backward()
local = model.module.weight.grad.numpy().copy()
model(x2).sum().backward()           # synchronised: the average of both ranks' sums
assert np.allclose(local, np.repeat(x1.numpy().sum(0)[None], 2, 0), atol=1e-5)  # not averaged
expected = dist.all_gather(chainrule.tensor(
    (x1.numpy().sum(0) + x2.numpy().sum(0))[None].repeat(2, 0)))
average = sum(e.numpy() for e in expected) / dist.world_size()
assert np.allclose(model.module.weight.grad.numpy(), average, atol=1e-5), "no_sync"
if dist.rank() == 0:
    print("OK")
""")
    _expect_ok(script)


def test_sync_batchnorm_uses_the_global_batch(tmp_path):
    script = tmp_path / "syncbn.py"
    script.write_text("""
import numpy as np, chainrule
from chainrule import nn, distributed as dist
dist.init()
rng = np.random.default_rng(0)
full = rng.standard_normal((8, 3, 2, 2)).astype(np.float32) * 2 + 1
mine = chainrule.tensor(full[dist.rank() * 4:(dist.rank() + 1) * 4], requires_grad=True)
bn = dist.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3)))
out = bn(mine)
(out * out * chainrule.arange(4).float().reshape(4, 1, 1, 1)).sum().backward()
reference = chainrule.tensor(full, requires_grad=True)
ref_out = nn.BatchNorm2d(3)(reference)
weights = chainrule.tensor(np.tile(np.arange(4, dtype=np.float32), 2)).reshape(8, 1, 1, 1)
(ref_out * ref_out * weights).sum().backward()
part = slice(dist.rank() * 4, (dist.rank() + 1) * 4)
assert np.allclose(out.numpy(), ref_out.numpy()[part], atol=1e-5), "forward"
assert np.allclose(mine.grad.numpy(), reference.grad.numpy()[part], atol=1e-4), "backward"
single = nn.BatchNorm2d(3)
single(chainrule.tensor(full))
assert np.allclose(bn[0].running_var.numpy(), single.running_var.numpy(), atol=1e-6), "stats"
if dist.rank() == 0:
    print("OK")
""")
    _expect_ok(script)


def _expect_ok(script):
    result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_a_tied_weight_is_all_reduced_once_per_bucket_and_matches_one_process(tmp_path):
    script = tmp_path / "tied.py"
    script.write_text("""
import sys, numpy as np, chainrule
from chainrule import nn, distributed as dist
dist.init()

class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode, self.decode = nn.Linear(4, 4), nn.Linear(4, 4)
        self.decode.weight = self.encode.weight         # one Parameter, used twice

    def forward(self, x):
        return self.decode(chainrule.tanh(self.encode(x)))

def make():
    chainrule.manual_seed(0)
    return Tied()

launched = []
start = dist.runtime.start_all_reduce
dist.runtime.start_all_reduce = lambda array, what: launched.append(what) or start(array, what)
rng = np.random.default_rng(0)
x = rng.standard_normal((3, 8, 4)).astype(np.float32)
y = rng.standard_normal((3, 8, 4)).astype(np.float32)
mine = slice(4 * dist.rank(), 4 * dist.rank() + 4)
cap = None if sys.argv[1] == "auto" else float(sys.argv[1])
model, reference = dist.DistributedDataParallel(make(), bucket_cap_mb=cap), make()
for step in range(3):
    for m in (model, reference):
        for p in m.parameters():
            p.grad = None
    loss_fn = nn.MSELoss()
    loss_fn(model(chainrule.tensor(x[step, mine])), chainrule.tensor(y[step, mine])).backward()
    model.synchronize()
    loss_fn(reference(chainrule.tensor(x[step])), chainrule.tensor(y[step])).backward()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
        assert np.allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-6), name
stats = model.stats()
assert len(list(model.parameters())) == 3, "the tied weight counts once"
assert stats["buckets"] == (3 if cap else 1), stats
assert len(launched) == stats["allreduce_calls"] == 3 * stats["buckets"], (launched, stats)
assert stats["steps"] == 3 and stats["allreduce_seconds"] >= 0
if dist.rank() == 0:
    print("OK", stats["buckets"])
""")
    for cap, buckets in (("auto", 1), ("1e-6", 3)):
        result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script), cap],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert f"OK {buckets}" in result.stdout


def test_nan_inputs_on_one_rank_stop_every_rank_at_the_same_step_with_its_reason(tmp_path):
    script = tmp_path / "nan.py"
    script.write_text("""
import warnings, numpy as np, chainrule
from chainrule import nn, optim, distributed as dist
dist.init(timeout=30)
chainrule.manual_seed(0)
rng = np.random.default_rng(0)
x, y = rng.standard_normal((64, 6)).astype(np.float32), rng.integers(0, 3, 64)
x[33, 2] = np.nan                  # odd indices are rank 1's shard: its third batch of 8
model = chainrule.models.MLP(6, (8,), 3)
warnings.simplefilter("ignore")
history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                        (x, y), epochs=3, batch_size=8, shuffle=False, distributed=True)
reasons = dist.all_gather_objects((history.diverged, len(history.steps), history.stop_reason))
if dist.rank() == 0:
    assert reasons[0] == reasons[1], reasons
    print("OK", reasons[0][1], reasons[0][2])
""")
    result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "OK 3 DivergenceGuard: on rank 1: the loss became nan at step 3 (epoch 1, batch 3) " \
           "because the inputs of that batch hold NaN/inf" in result.stdout
    assert "(dataset index 33)" in result.stdout
