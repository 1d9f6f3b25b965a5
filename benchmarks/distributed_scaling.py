"""distributed_scaling: mlp_train data-parallel over 1 and 2 processes (per-rank batch 128,
one BLAS thread per rank): samples/s of chainrule's DistributedDataParallel (MPI) and
PyTorch's (gloo), the scaling efficiency, and how much of chainrule's all-reduce overlaps
backward.

Before timing, in the 2-process run of each library, rank 0 checks (float64) that the
gradients averaged by DDP equal the gradients of one plain model on both ranks' batches
together; and chainrule's averaged gradients must equal PyTorch's. Every run starts from the
same weights (mlp_train's). The libraries take turns round after round, each run in fresh
processes; medians and per-round ratios are printed.

Overlap: chainrule's DDP all-reduces a bucket as soon as its gradients are in, while backward
goes on (automatic buckets: about four per model). ``in flight`` is the time from each
bucket's start to its completion, summed; ``waited`` the part the step still waited for after
backward; overlap = 1 - waited / in flight.

    python benchmarks/distributed_scaling.py [--quick] [--rounds N]
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import numpy as np

from _common import options, print_agreement, report_rounds

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = {"ddp_grad_float64": 1e-12, "pytorch_grad_float64": 1e-10}

COMMON = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[3])
import numpy as np
from mlp_train import data, init_weights, BATCH, chainrule_model, torch_model, NumpyMLP
steps, out_dir = int(sys.argv[1]), sys.argv[2]

def local_batches(rank, count=16):
    x, y = data(BATCH * count, seed=rank)
    return [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x), BATCH)]
"""

CHAINRULE = COMMON + r"""
import chainrule
from chainrule import nn, optim, distributed as dist
dist.init()
rank, world = dist.rank(), dist.world_size()
loss_fn = nn.CrossEntropyLoss()
if world > 1:                                   # the float64 check: DDP's average is exact
    model = dist.DistributedDataParallel(chainrule_model(np.float64))
    x, y = local_batches(rank, 1)[0]
    loss_fn(model(chainrule.tensor(x.astype(np.float64))), chainrule.tensor(y)).backward()
    model.synchronize()
    if rank == 0:
        grads = {k: p.grad.numpy() for k, p in model.module.named_parameters()}
        np.savez(os.path.join(out_dir, "chainrule_grads.npz"), **grads)
        whole = chainrule_model(np.float64)
        both = [local_batches(r, 1)[0] for r in range(world)]
        loss_fn(whole(chainrule.tensor(np.concatenate([b[0] for b in both]).astype(np.float64))),
                chainrule.tensor(np.concatenate([b[1] for b in both]))).backward()
        worst = max(float(np.abs(grads[k] - p.grad.numpy()).max() / np.abs(p.grad.numpy()).max())
                    for k, p in whole.named_parameters())
        json.dump({"ddp_grad_float64": worst}, open(os.path.join(out_dir, "check.json"), "w"))
    model.close()
model = dist.DistributedDataParallel(chainrule_model())
opt = optim.SGD(model.parameters(), lr=0.01)
batches = [(chainrule.tensor(x), chainrule.tensor(y)) for x, y in local_batches(rank)]
def run(n):
    for i in range(n):
        xb, yb = batches[i % len(batches)]
        opt.zero_grad(); loss_fn(model(xb), yb).backward(); model.synchronize(); opt.step()
run(3); model.reset_stats()
dist.barrier(); start = time.perf_counter(); run(steps); dist.barrier()
elapsed = time.perf_counter() - start
if rank == 0:
    s = model.stats()
    print(json.dumps({"samples_per_s": steps * BATCH * world / elapsed, "elapsed_s": elapsed,
                      "waited_s": s["allreduce_seconds"],
                      "inflight_s": s["allreduce_inflight_seconds"],
                      "buckets": s["buckets"], "overlapped_buckets": s["overlapped_buckets"],
                      "steps": s["steps"]}))
"""

TORCH = COMMON + r"""
import torch, torch.distributed as tdist
torch.set_num_threads(1)
rank, world = int(os.environ.get("PMI_RANK", "0")), int(os.environ.get("PMI_SIZE", "1"))
tdist.init_process_group("gloo", rank=rank, world_size=world)
DDP = torch.nn.parallel.DistributedDataParallel
loss_fn = torch.nn.functional.cross_entropy
if world > 1:
    model = DDP(torch_model(torch, np.float64))
    x, y = local_batches(rank, 1)[0]
    loss_fn(model(torch.from_numpy(x.astype(np.float64))), torch.from_numpy(y)).backward()
    if rank == 0:
        grads = {k: p.grad.numpy().copy() for k, p in model.module.named_parameters()}
        np.savez(os.path.join(out_dir, "pytorch_grads.npz"), **grads)
        whole = torch_model(torch, np.float64)
        both = [local_batches(r, 1)[0] for r in range(world)]
        loss_fn(whole(torch.from_numpy(np.concatenate([b[0] for b in both]).astype(np.float64))),
                torch.from_numpy(np.concatenate([b[1] for b in both]))).backward()
        worst = max(float(np.abs(grads[k] - p.grad.numpy()).max() / np.abs(p.grad.numpy()).max())
                    for k, p in whole.named_parameters())
        json.dump({"ddp_grad_float64": worst}, open(os.path.join(out_dir, "check.json"), "w"))
model = DDP(torch_model(torch))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in local_batches(rank)]
def run(n):
    for i in range(n):
        xb, yb = batches[i % len(batches)]
        opt.zero_grad(); loss_fn(model(xb), yb).backward(); opt.step()
run(3)
tdist.barrier(); start = time.perf_counter(); run(steps); tdist.barrier()
elapsed = time.perf_counter() - start
if rank == 0:
    print(json.dumps({"samples_per_s": steps * BATCH * world / elapsed, "elapsed_s": elapsed}))
tdist.destroy_process_group()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(which, processes, steps, out_dir):
    """One run of ``which`` over ``processes`` MPI ranks; rank 0's JSON line (None: that
    library is not installed)."""
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep
                           + os.environ.get("PATH", ""))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    code = CHAINRULE if which == "chainrule" else TORCH
    out = subprocess.run([mpiexec, "-n", str(processes), sys.executable, "-c", code,
                          str(steps), out_dir, HERE], capture_output=True, text=True, env=env,
                         timeout=600)
    if out.returncode:
        if which == "pytorch" and "No module named 'torch'" in out.stderr:
            return None
        raise RuntimeError(f"distributed_scaling: {which} on {processes} processes failed:\n"
                           + out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 3)
    steps = 10 if quick else 40
    print(f"distributed_scaling: mlp_train data-parallel, per-rank batch 128, {steps} steps, "
          f"one BLAS thread per rank; {rounds} round(s), the libraries taking turns; medians")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        print("  MPI not installed: pip install 'chainrule[distributed]'")
        return 0
    found = {(w, n): [] for n in (1, 2) for w in ("chainrule", "pytorch")}
    ok = True
    with tempfile.TemporaryDirectory() as out_dir:
        for number in range(rounds):
            for (which, processes), values in found.items():
                value = launch(which, processes, steps, out_dir)
                if value is None:
                    continue
                values.append(value)
                if number == 0 and processes == 2:
                    with open(os.path.join(out_dir, "check.json")) as f:
                        check = json.load(f)
                    ok &= print_agreement(f"{which} DDP average vs one model on both batches",
                                          check, TOLERANCE)
        if found[("pytorch", 2)]:
            ours = np.load(os.path.join(out_dir, "chainrule_grads.npz"))
            theirs = np.load(os.path.join(out_dir, "pytorch_grads.npz"))
            worst = max(float(np.abs(ours[k] - theirs[k]).max() / np.abs(theirs[k]).max())
                        for k in theirs.files)
            ok &= print_agreement("chainrule DDP vs PyTorch DDP gradients",
                                  {"pytorch_grad_float64": worst}, TOLERANCE)
    for processes in (1, 2):
        per_round = {w: [v["samples_per_s"] for v in found[(w, processes)]]
                     for w in ("chainrule", "pytorch") if found[(w, processes)]}
        report_rounds("distributed_scaling", f"{processes} process(es) samples/s", per_round,
                      "samples/s", higher_is_better=True)
    for which in ("chainrule", "pytorch"):
        one, two = found[(which, 1)], found[(which, 2)]
        if one and two:
            efficiency = [b["samples_per_s"] / (2 * a["samples_per_s"]) for a, b in zip(one, two)]
            print(f"  {which} scaling efficiency at 2 processes: {np.median(efficiency):.2f} "
                  "(rounds " + " ".join(f"{e:.2f}" for e in efficiency) + ")")
    two = found[("chainrule", 2)]
    if two:
        overlap = [1 - r["waited_s"] / r["inflight_s"] if r["inflight_s"] else float("nan")
                   for r in two]
        last = two[-1]
        print(f"  chainrule all-reduce overlap with backward: {np.median(overlap):.0%} (rounds "
              + " ".join(f"{o:.0%}" for o in overlap) + f"); {last['buckets']} buckets, "
              f"{last['overlapped_buckets']} of {last['buckets'] * last['steps']} done before "
              f"backward ended; in flight {last['inflight_s'] * 1e3:.0f} ms, waited after "
              f"backward {last['waited_s'] * 1e3:.0f} ms of {last['elapsed_s'] * 1e3:.0f} ms")
    if not ok:
        print("distributed_scaling: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
