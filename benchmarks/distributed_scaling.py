"""distributed_scaling: mlp_train samples/s with 1 and 2 MPI processes (per-rank batch 128),
scaling efficiency, and the time spent in all-reduce.

    python benchmarks/distributed_scaling.py [--quick]
"""
import os
import shutil
import subprocess
import sys

WORKER = r"""
import sys, time, json
sys.path.insert(0, "benchmarks")
import numpy as np, chainrule
from chainrule import nn, optim, distributed as dist
from mlp_train import data, init_weights, BATCH
dist.init()
steps = int(sys.argv[1])
x, y = data(BATCH * 16, seed=dist.rank())
layers = []
for w, b in init_weights():
    linear = nn.Linear(w.shape[1], w.shape[0]); linear.weight._data[...] = w; linear.bias._data[...] = b
    layers += [linear, nn.ReLU()]
model = dist.DistributedDataParallel(nn.Sequential(*layers[:-1]))
opt = optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
batches = [(chainrule.tensor(x[i:i + BATCH]), chainrule.tensor(y[i:i + BATCH])) for i in range(0, len(x), BATCH)]
def run(n):
    for i in range(n):
        xb, yb = batches[i % len(batches)]
        opt.zero_grad(); loss_fn(model(xb), yb).backward(); model.synchronize(); opt.step()
run(3); model.allreduce_seconds = 0.0
dist.barrier(); start = time.perf_counter(); run(steps); dist.barrier()
elapsed = time.perf_counter() - start
if dist.is_main():
    print(json.dumps({"samples_per_s": steps * BATCH * dist.world_size() / elapsed,
                      "allreduce_s": model.allreduce_seconds, "elapsed_s": elapsed}))
"""


def main(quick=False):
    steps = 10 if quick else 40
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep +
                           os.environ.get("PATH", ""))
    print("distributed_scaling: mlp_train over MPI, per-rank batch 128")
    if mpiexec is None:
        print("  MPI not installed: pip install 'chainrule[distributed]'")
        return {}
    import json
    results = {}
    for n in (1, 2):
        out = subprocess.run([mpiexec, "-n", str(n), sys.executable, "-c", WORKER, str(steps)],
                             capture_output=True, text=True, env=dict(os.environ,
                                                                      OPENBLAS_NUM_THREADS="1"))
        if out.returncode:
            print(f"  {n} processes failed: {out.stderr.strip()[-300:]}")
            continue
        results[n] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[n]
        print(f"  {n} process(es): {r['samples_per_s']:8.0f} samples/s, all-reduce wait "
              f"{r['allreduce_s'] * 1e3:.1f} ms of {r['elapsed_s'] * 1e3:.0f} ms")
    if 1 in results and 2 in results:
        efficiency = results[2]["samples_per_s"] / (2 * results[1]["samples_per_s"])
        print(f"  scaling efficiency at 2 processes: {efficiency:.2f} (one BLAS thread each)")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
