"""op_overhead: a chain of 2,000 elementwise ops (mul, add, tanh in turn) on shape-(4,)
tensors, forward then backward: microseconds per op for chainrule, PyTorch and a hand-written
NumPy bound, in float32 and float64 (bar: chainrule <= 1.0x PyTorch's time per op).

Before timing, the gradients of the chain in both libraries must agree (float32 and float64).
Each contender is then timed in its own process, the contenders taking turns round after
round. A timing is a block mean: the wall time of several whole chains back to back over the
number of ops, garbage-collection pauses included (the median of single calls would leave
them out). Ratios are per round; medians are printed.

    python benchmarks/op_overhead.py [--quick] [--rounds N]
"""
import sys

import numpy as np

from _common import disagreements as over_tolerance
from _common import (blas_report, clock, isolated, options, print_agreement, relative_difference,
                     report_rounds, rounds_of, torch_or_none, where)

N_OPS = 2000
DTYPES = ("float32", "float64")
TOLERANCE = {"grad_float32": 1e-5, "grad_float64": 1e-12, "numpy_grad_float32": 1e-5,
             "numpy_grad_float64": 1e-12}


def chain(x, tanh, n):
    """mul, add, tanh in turn, then backward: the same code for chainrule and PyTorch."""
    y = x
    for i in range(n):
        k = i % 3
        if k == 0:
            y = y * 1.0001
        elif k == 1:
            y = y + 0.001
        else:
            y = tanh(y)
    y.sum().backward()
    return x.grad


def start(dtype, perturb=0.0):
    return np.linspace(-1, 1, 4).astype(dtype) + perturb


def chainrule_chain(n=N_OPS, dtype="float32", perturb=0.0):
    import chainrule
    x = chainrule.tensor(start(dtype, perturb), requires_grad=True)
    return chain(x, chainrule.tanh, n).numpy()


def torch_chain(torch, n=N_OPS, dtype="float32", perturb=0.0):
    x = torch.tensor(start(dtype, perturb), requires_grad=True)
    return chain(x, torch.tanh, n).numpy()


def numpy_chain(n=N_OPS, dtype="float32", perturb=0.0):
    """Hand-written forward and backward with preallocated buffers: the NumPy lower bound."""
    values = np.empty((n + 1, 4), dtype=dtype)
    values[0] = start(dtype, perturb)
    for i in range(n):
        k = i % 3
        if k == 0:
            np.multiply(values[i], 1.0001, out=values[i + 1])
        elif k == 1:
            np.add(values[i], 0.001, out=values[i + 1])
        else:
            np.tanh(values[i], out=values[i + 1])
    g = np.ones(4, dtype=dtype)
    for i in range(n - 1, -1, -1):
        k = i % 3
        if k == 0:
            g *= 1.0001
        elif k == 2:
            g *= 1 - values[i + 1] * values[i + 1]
    return g


def cross_check(perturb=0.0, n=300):
    """The largest relative differences between chainrule's gradient of the chain and
    PyTorch's and the NumPy bound's (``perturb`` shifts PyTorch's input, to see it fail)."""
    torch = torch_or_none(threads=1)
    report = {}
    for dtype in DTYPES:
        ours = chainrule_chain(n, dtype)
        report[f"grad_{dtype}"] = relative_difference(ours, torch_chain(torch, n, dtype, perturb))
        report[f"numpy_grad_{dtype}"] = relative_difference(ours, numpy_chain(n, dtype))
    return report


def disagreements(report):
    """The checks of a cross-check report over their tolerance."""
    return over_tolerance(report, TOLERANCE)


def us_per_op(which, n, blocks):
    """{dtype: block mean in µs per op}: ``blocks`` whole chains back to back (after one
    warm-up chain), timed together, garbage collection left on as users have it."""
    torch = torch_or_none() if which == "pytorch" else None
    if which == "pytorch" and torch is None:
        return None
    run = {"chainrule": chainrule_chain, "numpy": numpy_chain,
           "pytorch": lambda n, dtype: torch_chain(torch, n, dtype)}[which]
    result = {}
    for dtype in DTYPES:
        run(n, dtype)
        began = clock()
        for _ in range(blocks):
            run(n, dtype)
        result[dtype] = (clock() - began) / (blocks * n) * 1e6
    return result


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 7)
    n, blocks = (300, 3) if quick else (N_OPS, 10)
    print(f"op_overhead: {n} elementwise ops on shape (4,), forward + backward; block means "
          f"of {blocks} chains (GC pauses included); " + where(rounds))
    print(blas_report())
    ok = True
    if torch_or_none() is not None:
        ok = print_agreement("gradients", isolated("op_overhead", "cross_check", threads=1),
                             TOLERANCE)
    results = rounds_of("op_overhead", "us_per_op", ("chainrule", "pytorch", "numpy"),
                        (n, blocks), rounds, threads=threads)
    for dtype in DTYPES:
        per_round = {name: [r[dtype] for r in values] for name, values in results.items()}
        report_rounds("op_overhead", f"{dtype} us/op", per_round, "us/op",
                      higher_is_better=False, bar=1.0, also=("numpy",))
    if not ok:
        print("op_overhead: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
