"""op_overhead: a chain of 2,000 elementwise ops (mul, add, tanh in turn) on shape-(4,)
tensors, forward then backward; microseconds per op for chainrule, PyTorch and NumPy.

    python benchmarks/op_overhead.py [--quick]
"""
import sys

import numpy as np

from _common import blas_report, interleaved_medians, median_time, ratio, torch_or_none

N_OPS = 2000


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


def chainrule_chain(n=N_OPS):
    import chainrule
    x = chainrule.tensor(np.linspace(-1, 1, 4, dtype=np.float32), requires_grad=True)
    return chain(x, chainrule.tanh, n)


def torch_chain(torch, n=N_OPS):
    return chain(torch.linspace(-1, 1, 4, requires_grad=True), torch.tanh, n)


def numpy_chain(n=N_OPS):
    """Hand-written forward and backward with preallocated buffers: the NumPy lower bound."""
    x = np.linspace(-1, 1, 4, dtype=np.float32)
    values = np.empty((n + 1, 4), dtype=np.float32)
    values[0] = x
    for i in range(n):
        k = i % 3
        if k == 0:
            np.multiply(values[i], 1.0001, out=values[i + 1])
        elif k == 1:
            np.add(values[i], 0.001, out=values[i + 1])
        else:
            np.tanh(values[i], out=values[i + 1])
    g = np.ones(4, dtype=np.float32)
    for i in range(n - 1, -1, -1):
        k = i % 3
        if k == 0:
            g *= 1.0001
        elif k == 2:
            g *= 1 - values[i + 1] * values[i + 1]
    return g


def main(quick=False):
    repeat = 3 if quick else 7
    n = 300 if quick else N_OPS
    print(f"op_overhead: {n} elementwise ops on shape (4,), forward + backward")
    print(blas_report())
    import chainrule
    contenders = {"chainrule": lambda: chainrule_chain(n), "numpy": lambda: numpy_chain(n)}
    torch = torch_or_none()
    if torch is not None:
        contenders["pytorch"] = lambda: torch_chain(torch, n)
    results = {name: seconds / n * 1e6
               for name, seconds in interleaved_medians(contenders, repeat).items()}

    def with_anomaly():
        with chainrule.autograd.detect_anomaly():
            chainrule_chain(n)
    anomaly = median_time(with_anomaly, repeat) / n * 1e6
    for name, us in results.items():
        print(f"  {name:10s} {us:8.2f} us/op")
    if "pytorch" in results:
        print(f"  ratio chainrule/pytorch time: {ratio(results['chainrule'], results['pytorch']):.2f}"
              " (bar: <= 1.5)")
    print(f"  ratio chainrule/numpy time:   {ratio(results['chainrule'], results['numpy']):.2f}")
    print(f"  chainrule under detect_anomaly: {anomaly:.2f} us/op (the checks cost only in "
          "that mode)")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
