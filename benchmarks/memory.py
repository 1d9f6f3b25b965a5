"""memory: the steady-state peak memory of training, chainrule against PyTorch (bar: <= 1.0x
on the peak).

Cases: the mlp_train step (784-256-256-256-10, batch 128) and a LeNet-5 step (batch 64; it
runs through the convolution workspace cache, which must stay flat). Each library runs in a
fresh process: the data is made, the allocator trimmed and the resident set (RSS) read — the
base; then the model and optimizer are built and a few warm-up steps run, the kernel's RSS
high-water mark is reset (``/proc/self/clear_refs``), and many more steps run. The reported
figure ("peak") is the high-water mark over those steps minus the base: the model, its
gradients, the optimizer state, every buffer the steps need, whatever the allocator keeps
between steps and the library code first paged in by training — what a user's process really
holds while training. "step" is the same high-water mark minus the RSS just before those
steps: how far a step rises above what the process already holds in the steady state (a
few pages in both libraries: printed for information, without a bar).
chainrule's tracemalloc peak over the same steps (the NumPy arrays alive at once) is printed
beside it.

Both libraries start from the same weights and batch; their first losses must agree before
anything is measured (in one process, and again in each measuring process). Rounds alternate
the libraries; medians and per-round ratios are printed.

    python benchmarks/memory.py [--quick] [--rounds N]
"""
import json
import os
import subprocess
import sys

from _common import (isolated, options, print_agreement, relative_difference, report_rounds,
                     torch_or_none)

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ("mlp_train", "lenet_train")
TOLERANCE = {"loss_float32": 1e-5, "mlp_train_loss_float32": 1e-5,
             "lenet_train_loss_float32": 1e-5}

STEP = r"""
import ctypes, json, sys, tracemalloc
sys.path.insert(0, sys.argv[4])
which, case, warmup, steps = sys.argv[1], sys.argv[2], 5, int(sys.argv[3])
import numpy as np

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

if which == "pytorch":
    import torch
    torch.set_num_threads(2)
else:
    import chainrule
if case == "mlp_train":
    from mlp_train import data, chainrule_trainer, torch_trainer
    x, y = data(1024)
    make = (lambda: chainrule_trainer(x, y)) if which == "chainrule" else \
        (lambda: torch_trainer(torch, x, y))
else:
    import conv_train
    x, y = conv_train.batch("lenet", 64, (1, 28, 28))

    def make():
        if which == "chainrule":
            from chainrule import nn, optim
            net = conv_train.chainrule_model("lenet")
            opt, loss_fn = optim.SGD(net.parameters(), lr=0.01), nn.CrossEntropyLoss()
            xt, yt = chainrule.tensor(x), chainrule.tensor(y)
        else:
            net = conv_train.torch_model("lenet", conv_train.state_of(
                conv_train.chainrule_model("lenet")))
            opt, loss_fn = torch.optim.SGD(net.parameters(), lr=0.01), \
                torch.nn.functional.cross_entropy
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def run(n):
            for _ in range(n):
                opt.zero_grad()
                loss = loss_fn(net(xt), yt)
                loss.backward()
                opt.step()
            return loss.item()
        return run
    import chainrule, chainrule.models     # both need it (PyTorch's copy of the weights):
                                           # imported before the base is read
ctypes.CDLL("libc.so.6").malloc_trim(0)
base_kb = status("VmRSS")
if which == "chainrule":
    tracemalloc.start()
run = make()
first_loss = run(1)
run(warmup - 1)
if which == "chainrule":
    tracemalloc.reset_peak()
    traced_before = tracemalloc.get_traced_memory()[0]
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                     # the high-water mark starts again here
before_kb = status("VmHWM")                          # = the RSS at the reset
run(steps)
peak_kb = status("VmHWM")
result = {"first_loss": first_loss, "peak_kb": peak_kb - base_kb,
          "step_peak_kb": peak_kb - before_kb,
          "held_kb": status("VmRSS") - base_kb}
if which == "chainrule":
    current, peak = tracemalloc.get_traced_memory()
    result.update(traced_peak_kb=peak / 1024, traced_between_steps_kb=current / 1024,
                  traced_step_kb=(peak - traced_before) / 1024)
print(json.dumps(result))
"""


def measure(which, case, steps):
    """One library's figures for ``case``, from a fresh process (None: PyTorch missing)."""
    out = subprocess.run([sys.executable, "-c", STEP, which, case, str(steps), HERE],
                         capture_output=True, text=True, cwd=os.path.dirname(HERE))
    if out.returncode:
        if which == "pytorch" and "No module named 'torch'" in out.stderr:
            return None
        raise RuntimeError(f"memory {which} {case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cross_check(perturb=0.0):
    """The first loss of both libraries on each case's model and batch, from the same weights
    (``perturb`` nudges PyTorch's), in this process: relative differences."""
    import chainrule
    import conv_train
    import mlp_train
    torch = torch_or_none(threads=1)
    x, y = mlp_train.data(mlp_train.BATCH)
    ours = chainrule.nn.CrossEntropyLoss()(mlp_train.chainrule_model()(chainrule.tensor(x)),
                                           chainrule.tensor(y)).item()
    theirs = torch.nn.functional.cross_entropy(mlp_train.torch_model(torch, perturb=perturb)(
        torch.from_numpy(x)), torch.from_numpy(y)).item()
    report = {"mlp_train_loss_float32": relative_difference(ours, theirs)}
    net = conv_train.chainrule_model("lenet")
    state = {k: v + perturb for k, v in conv_train.state_of(net).items()}
    x, y = conv_train.batch("lenet", 64, (1, 28, 28))
    ours = chainrule.nn.CrossEntropyLoss()(net(chainrule.tensor(x)), chainrule.tensor(y)).item()
    theirs = torch.nn.functional.cross_entropy(conv_train.torch_model("lenet", state)(
        torch.from_numpy(x)), torch.from_numpy(y)).item()
    report["lenet_train_loss_float32"] = relative_difference(ours, theirs)
    return report


def disagreements(report):
    """The checks of a cross-check report over their tolerance."""
    from _common import disagreements as over
    return over(report, TOLERANCE)


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 3)
    steps = 10 if quick else 100
    print(f"memory: steady-state peak over {steps} training steps after 5 warm-up steps (RSS "
          "high-water mark minus the RSS before the model was built), each library in a fresh "
          f"process, {rounds} round(s) taken in turn; medians of per-round ratios")
    ok = True
    if torch_or_none() is not None:
        ok = print_agreement("first losses", isolated("memory", "cross_check", threads=1),
                             TOLERANCE)
    for case in CASES:
        found = {"chainrule": [], "pytorch": []}
        for _ in range(rounds):
            for which in found:
                value = measure(which, case, steps)
                if value is not None:
                    found[which].append(value)
        ours = found["chainrule"]
        if found["pytorch"]:
            report = {"loss_float32": max(relative_difference(a["first_loss"], b["first_loss"])
                                          for a, b in zip(ours, found["pytorch"]))}
            ok &= print_agreement(f"{case} first loss", report, TOLERANCE)
        # the bar is on the peak; a step's rise above the steady state is a few pages in both
        # libraries (tens of KiB), whose ratio says nothing: printed without a bar
        for key, label, bar in (("peak_kb", "peak MiB", 1.0), ("step_peak_kb", "step MiB", None)):
            per_round = {k: [v[key] / 1024 for v in values]
                         for k, values in found.items() if values}
            report_rounds("memory", f"{case} {label}", per_round, "MiB",
                          higher_is_better=False, bar=bar, kind="memory")
        last = ours[-1]
        print(f"    chainrule: {last['held_kb'] / 1024:.2f} MiB held between steps; "
              f"tracemalloc: peak {last['traced_peak_kb'] / 1024:.2f} MiB of live arrays, "
              f"{last['traced_between_steps_kb'] / 1024:.2f} MiB between steps "
              f"(a step adds {last['traced_step_kb'] / 1024:.2f} MiB at its peak)")
    if not ok:
        print("memory: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
