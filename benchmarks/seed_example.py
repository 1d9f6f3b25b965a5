"""seed_example: y_hat = w*x, loss = (y_hat - y)^2 at x=1, y=2, w=1 — forward+backward
iterations; microseconds per iteration (bar: chainrule <= 0.7x PyTorch's time).

Before timing, both libraries' loss and gradient must agree (float32 and float64; the gradient
is -2). Each library is timed in its own process, the two taking turns round after round;
a timing is a block mean (all iterations timed together, garbage collection on). Ratios are
per round; medians are printed.

    python benchmarks/seed_example.py [--quick] [--rounds N]
"""
import sys

from _common import disagreements as over_tolerance
from _common import (clock, isolated, options, print_agreement, relative_difference, report_rounds,
                     rounds_of, torch_or_none, where)

TOLERANCE = {"loss_float32": 1e-6, "grad_float32": 1e-6, "loss_float64": 1e-12,
             "grad_float64": 1e-12}


def step(lib, dtype, w0=1.0):
    """One forward+backward of the seed example in ``lib``; (loss, gradient)."""
    dtype = getattr(lib, dtype)
    x, y = lib.tensor(1.0, dtype=dtype), lib.tensor(2.0, dtype=dtype)
    w = lib.tensor(w0, dtype=dtype, requires_grad=True)
    loss = (w * x - y) ** 2
    loss.backward()
    return loss.item(), w.grad.item()


def cross_check(perturb=0.0):
    """Relative differences of chainrule's loss and gradient from PyTorch's (``perturb``
    shifts PyTorch's w, to see the check fail)."""
    import chainrule
    torch = torch_or_none(threads=1)
    report = {}
    for dtype in ("float32", "float64"):
        (loss, grad), (their_loss, their_grad) = (step(chainrule, dtype),
                                                  step(torch, dtype, 1.0 + perturb))
        assert grad == -2.0, grad
        report[f"loss_{dtype}"] = relative_difference(loss, their_loss)
        report[f"grad_{dtype}"] = relative_difference(grad, their_grad)
    return report


def disagreements(report):
    """The checks of a cross-check report over their tolerance."""
    return over_tolerance(report, TOLERANCE)


def us_per_iteration(which, n):
    """Block mean in µs per iteration: ``n`` iterations timed together after a warm-up."""
    if which == "chainrule":
        import chainrule as lib
    elif which == "pytorch":
        lib = torch_or_none()
        if lib is None:
            return None
    else:                                   # plain Python floats, for scale
        def run():
            wv, xv, yv = 1.0, 1.0, 2.0
            for _ in range(n):
                s = wv * xv - yv
                _ = s * s
                _ = 2 * s * xv
        run()
        began = clock()
        run()
        return (clock() - began) / n * 1e6
    x, y = lib.tensor(1.0), lib.tensor(2.0)
    w = lib.tensor(1.0, requires_grad=True)

    def run():
        for _ in range(n):
            w.grad = None
            ((w * x - y) ** 2).backward()
    run()
    assert w.grad.item() == -2.0
    began = clock()
    run()
    return (clock() - began) / n * 1e6


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 7)
    n = 2_000 if quick else 10_000
    print(f"seed_example: {n} forward+backward iterations per timing (block mean); "
          + where(rounds))
    ok = True
    if torch_or_none() is not None:
        ok = print_agreement("loss and gradient", isolated("seed_example", "cross_check",
                                                           threads=1), TOLERANCE)
    results = rounds_of("seed_example", "us_per_iteration",
                        ("chainrule", "pytorch", "python floats"), (n,), rounds, threads)
    report_rounds("seed_example", "us/iteration", results, "us/it", higher_is_better=False,
                  bar=0.7)
    if not ok:
        print("seed_example: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
