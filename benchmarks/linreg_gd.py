"""linreg_gd: f(x) = w0 + w1*x, MSE, 1,000 points, 1,000 full-batch GD steps: wall time of
chainrule and PyTorch, and the final weights against each other and the closed form.

Before timing, both libraries' first loss and gradients (float64) and their weights after
the full descent (float32) must agree. Each library is then timed in its own process,
taking turns round after round; ratios are per round, medians are printed.

    python benchmarks/linreg_gd.py [--quick] [--rounds N]
"""
import sys

import numpy as np

from _common import disagreements as over_tolerance
from _common import (clock, isolated, options, print_agreement, relative_difference, report_rounds,
                     rounds_of, torch_or_none, where)

TOLERANCE = {"loss_float64": 1e-12, "grad_float64": 1e-12, "weights_float32": 1e-5,
             "closed_form_float32": 1e-2}


def points(dtype=np.float32):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 1000)
    y = 2 * x + 1 + 0.1 * rng.standard_normal(1000)
    return x.astype(dtype), y.astype(dtype)


def descend(lib, optimizer, x, y, steps, start=0.0):
    """Full-batch gradient descent on w0 + w1*x with MSE: the same code for both libraries.
    Returns (seconds, w0, w1)."""
    w0 = lib.full((1,), start, dtype=x.dtype, requires_grad=True)
    w1 = lib.full((1,), start, dtype=x.dtype, requires_grad=True)
    opt = optimizer([w0, w1], lr=0.5)
    began = clock()
    for _ in range(steps):
        opt.zero_grad()
        ((w0 + w1 * x - y) ** 2).mean().backward()
        opt.step()
    return clock() - began, w0.item(), w1.item()


def libraries():
    import chainrule
    torch = torch_or_none(threads=1)
    return ((chainrule, chainrule.optim.GD, chainrule.tensor),
            (torch, torch.optim.SGD, torch.from_numpy))


def cross_check(perturb=0.0, steps=300):
    """First loss and gradients in float64, and the weights after ``steps`` steps in float32,
    of chainrule against PyTorch (``perturb`` starts PyTorch's weights elsewhere)."""
    (lib, opt, make), (tlib, topt, tmake) = libraries()
    report = {}
    x, y = points(np.float64)
    found = []
    for library, to_tensor, start in ((lib, make, 0.0), (tlib, tmake, perturb)):
        w = library.full((2,), start, dtype=library.float64, requires_grad=True)
        loss = ((w[0] + w[1] * to_tensor(x) - to_tensor(y)) ** 2).mean()
        loss.backward()
        found.append((loss.item(), w.grad.numpy()))
    report["loss_float64"] = relative_difference(found[0][0], found[1][0])
    report["grad_float64"] = relative_difference(found[0][1], found[1][1])
    x, y = points(np.float32)
    ours = descend(lib, opt, make(x), make(y), steps)[1:]
    theirs = descend(tlib, topt, tmake(x), tmake(y), steps, perturb)[1:]
    closed = np.linalg.lstsq(np.column_stack([np.ones(1000), x]), y, rcond=None)[0]
    report["weights_float32"] = relative_difference(ours, theirs)
    report["closed_form_float32"] = relative_difference(ours, closed)
    return report


def disagreements(report):
    """The checks of a cross-check report over their tolerance."""
    return over_tolerance(report, TOLERANCE)


def milliseconds(which, steps):
    """Wall time of ``steps`` descent steps (after a short warm-up), in this process."""
    if which == "chainrule":
        import chainrule as lib
        optimizer, make = lib.optim.GD, lib.tensor
    else:
        lib = torch_or_none()
        if lib is None:
            return None
        optimizer, make = lib.optim.SGD, lib.from_numpy
    x, y = (make(a) for a in points())
    descend(lib, optimizer, x, y, 20)
    return descend(lib, optimizer, x, y, steps)[0] * 1e3


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 7)
    steps = 200 if quick else 1000
    print(f"linreg_gd: {steps} full-batch GD steps on 1,000 points; " + where(rounds))
    ok = True
    if torch_or_none() is not None:
        ok = print_agreement("loss, gradients, final weights",
                             isolated("linreg_gd", "cross_check", threads=1), TOLERANCE)
    results = rounds_of("linreg_gd", "milliseconds", ("chainrule", "pytorch"), (steps,),
                        rounds, threads)
    report_rounds("linreg_gd", f"{steps} steps", results, "ms", higher_is_better=False)
    if not ok:
        print("linreg_gd: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
