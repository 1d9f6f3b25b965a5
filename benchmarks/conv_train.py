"""conv_train: convolutional networks, chainrule against PyTorch on the same weights and batches.

* LeNet-5 training, 1x28x28 images, batch 64 (bar: >= 1.0x PyTorch's samples/s);
* a small ResNet training (a 16-channel stem, two residual blocks with BatchNorm, the second
  with stride 2 and a 1x1 shortcut), 3x32x32 images, batch 32 (bar: >= 0.8x);
* LeNet-5 inference under no_grad, batch 64 (bar: >= 1.0x).

Before anything is timed, both libraries start from the same weights (chainrule's, loaded into
an identical PyTorch model) and must agree: the first losses in float32, and once in float64
every parameter's gradient. Then each library is timed in its own process (so OpenBLAS's
and PyTorch's thread pools never compete), the two taking turns round after round; each
round's ratio is taken from that round's pair, and the medians are printed.

    python benchmarks/conv_train.py [--quick] [--rounds N]

``--quick`` (CI) runs the cross-checks and one short timing of each case in a single
single-threaded process (its speeds say nothing), and fails when the libraries disagree.
"""
import sys

import numpy as np

from _common import (blas_report, isolated, median_time, report_rounds, rounds_of, torch_or_none,
                     worst_gradient_difference)

CASES = {
    # name: (model, batch, image shape, mode)
    "lenet_train": ("lenet", 64, (1, 28, 28), "train"),
    "resnet_train": ("resnet", 32, (3, 32, 32), "train"),
    "lenet_infer": ("lenet", 64, (1, 28, 28), "infer"),
}
BARS = {"lenet_train": 1.0, "resnet_train": 0.8, "lenet_infer": 1.0}


# ---------------------------------------------------------------- the two models

def chainrule_model(model, dtype="float32"):
    import chainrule
    chainrule.manual_seed(0)
    if model == "lenet":
        net = chainrule.models.LeNet5(1, 10, 28)
    else:
        net = chainrule.models.ResNet(3, 10, blocks=(1, 1), width=16)
    return net.to(getattr(chainrule, dtype)) if dtype != "float32" else net


def torch_model(model, state):
    """The same network in PyTorch, loaded with chainrule's weights (``state``: name -> array)."""
    import torch
    nn = torch.nn
    if model == "lenet":
        net = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    else:
        class BasicBlock(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
                self.bn1 = nn.BatchNorm2d(cout)
                self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
                self.bn2 = nn.BatchNorm2d(cout)
                self.shortcut = None
                if stride != 1 or cin != cout:
                    self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                  nn.BatchNorm2d(cout))

            def forward(self, x):
                out = torch.relu(self.bn1(self.conv1(x)))
                out = self.bn2(self.conv2(out))
                return torch.relu(out + (x if self.shortcut is None else self.shortcut(x)))

        net = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                            nn.ReLU(), BasicBlock(16, 16, 1), BasicBlock(16, 32, 2),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    dtype = next(iter(state.values())).dtype
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return net.to(torch.float64 if dtype == np.float64 else torch.float32)


def batch(model, size, shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size,) + shape).astype(dtype)
    return x, rng.integers(0, 10, size)


def state_of(net):
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}


# ---------------------------------------------------------------- agreement

def cross_check(model, perturb=0.0):
    """First losses (float32) and every gradient (float64) of both libraries, from the same
    weights and batch; returns the largest relative differences. ``perturb`` nudges
    PyTorch's weights (to see the check fail)."""
    import torch
    import chainrule
    from chainrule import nn
    _, size, shape, _ = next(c for c in CASES.values() if c[0] == model)
    report = {}
    for dtype in ("float32", "float64"):
        ours = chainrule_model(model, dtype)
        theirs = torch_model(model, {k: v + perturb if v.dtype.kind == "f" else v
                                     for k, v in state_of(ours).items()})
        x, y = batch(model, size, shape, dtype)
        loss = nn.CrossEntropyLoss()(ours(chainrule.tensor(x)), chainrule.tensor(y))
        loss.backward()
        their_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)),
                                                       torch.from_numpy(y))
        their_loss.backward()
        report[f"loss_{dtype}"] = abs(loss.item() - their_loss.item()) / abs(their_loss.item())
        if dtype == "float64":
            report["grad_float64"] = worst_gradient_difference(
                [(name, p.grad.numpy()) for name, p in ours.named_parameters()],
                [(name, p.grad.numpy()) for name, p in theirs.named_parameters()])
    return report


def cross_checks():
    return {model: cross_check(model) for model in ("lenet", "resnet")}


TOLERANCE = {"loss_float32": 1e-4, "loss_float64": 1e-10, "grad_float64": 1e-8}


def disagreements(report):
    """The entries of a cross-check report over their tolerance."""
    return [k for k, v in report.items() if not v <= TOLERANCE[k]]


# ---------------------------------------------------------------- timing (one process each)

def samples_per_second(which, case, steps, repeat=5):
    """One contender's median speed on ``case`` (``repeat`` timings of ``steps`` steps after
    two warm-up runs), timed in this process."""
    model, size, shape, mode = CASES[case]
    x, y = batch(model, size, shape)
    if which == "chainrule":
        import chainrule
        from chainrule import nn, optim
        net = chainrule_model(model)
        xt, yt = chainrule.tensor(x), chainrule.tensor(y)
        if mode == "infer":
            net.eval()

            def run():
                with chainrule.no_grad():
                    for _ in range(steps):
                        net(xt)
        else:
            opt = optim.SGD(net.parameters(), lr=0.01)
            loss_fn = nn.CrossEntropyLoss()

            def run():
                for _ in range(steps):
                    opt.zero_grad()
                    loss_fn(net(xt), yt).backward()
                    opt.step()
    else:
        torch = torch_or_none()
        if torch is None:
            return None
        net = torch_model(model, state_of(chainrule_model(model)))
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        if mode == "infer":
            net.eval()

            def run():
                with torch.no_grad():
                    for _ in range(steps):
                        net(tx)
        else:
            opt = torch.optim.SGD(net.parameters(), lr=0.01)

            def run():
                for _ in range(steps):
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(net(tx), ty).backward()
                    opt.step()
    return steps * size / median_time(run, repeat=repeat, warmup=2 if repeat > 1 else 1)


def quick_check():
    """The CI form in one single-threaded process: both cross-checks and one short timing of
    each case and library (a smoke test of the timing code; the speeds say nothing)."""
    torch = torch_or_none(threads=1)
    reports = cross_checks() if torch is not None else {}
    speeds = {case: {which: samples_per_second(which, case, 1, 1)
                     for which in ("chainrule", "pytorch")} for case in CASES}
    return {"reports": reports, "speeds": speeds}


def timed_rounds(rounds):
    """{case: {library: [samples/s per round]}}, each library in its own process, the
    libraries taking turns round after round."""
    return {case: rounds_of("conv_train", "samples_per_second", ("chainrule", "pytorch"),
                            (case, 4 if case == "resnet_train" else 10, 5), rounds)
            for case in CASES}


def main(quick=False, rounds=None):
    rounds = rounds or 7
    print("conv_train: same weights and batches in both libraries, cross-checked first; "
          + ("--quick: one single-threaded process, speeds not meaningful" if quick else
             f"each library timed in its own process, {rounds} rounds taken in turn; "
             "medians of per-round ratios"))
    print(blas_report())
    if quick:
        result = isolated("conv_train", "quick_check", threads=1)
        reports, speeds = result["reports"], {
            case: {k: [v] for k, v in by_library.items() if v is not None}
            for case, by_library in result["speeds"].items()}
    else:
        reports = isolated("conv_train", "cross_checks", threads=1) \
            if torch_or_none() is not None else {}
        speeds = timed_rounds(rounds)
    failed = False
    if not reports:
        print("  PyTorch not installed: chainrule timings only")
    for model, report in reports.items():
        bad = disagreements(report)
        failed |= bool(bad)
        print(f"  agreement {model}: " + ", ".join(f"{k} {v:.1e}" for k, v in report.items())
              + ("  DISAGREE: " + ", ".join(bad) if bad else "  (ok)"))
    for case, by_library in speeds.items():
        report_rounds("conv_train", case, by_library, "samples/s", higher_is_better=True,
                      bar=BARS[case])
    if failed:
        print("conv_train: the two libraries disagree (see above)")
    return 1 if failed else 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    count = int(arguments[arguments.index("--rounds") + 1]) if "--rounds" in arguments else None
    sys.exit(main(quick="--quick" in arguments, rounds=count))
