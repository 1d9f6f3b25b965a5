"""linreg_gd: f(x) = w0 + w1*x, MSE, 1,000 points, 1,000 full-batch GD steps: wall time and
final weights, against PyTorch and the closed form.

    python benchmarks/linreg_gd.py [--quick]
"""
import sys
import time

import numpy as np

from _common import ratio, torch_or_none


def descend(lib, optimizer, x, y, steps):
    """Full-batch gradient descent on w0 + w1*x with MSE: the same code for both libraries.
    Returns (seconds, w0, w1)."""
    w0 = lib.zeros(1, requires_grad=True)
    w1 = lib.zeros(1, requires_grad=True)
    opt = optimizer([w0, w1], lr=0.5)
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        ((w0 + w1 * x - y) ** 2).mean().backward()
        opt.step()
    return time.perf_counter() - start, w0.item(), w1.item()


def main(quick=False):
    import chainrule
    steps = 200 if quick else 1000
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 1000).astype(np.float32)
    y = (2 * x + 1 + 0.1 * rng.standard_normal(1000)).astype(np.float32)
    closed = np.linalg.lstsq(np.column_stack([np.ones(1000), x]), y, rcond=None)[0]
    print(f"linreg_gd: {steps} full-batch GD steps on 1,000 points")
    ours, w0, w1 = descend(chainrule, chainrule.optim.GD, chainrule.tensor(x),
                           chainrule.tensor(y), steps)
    print(f"  chainrule {ours * 1e3:8.1f} ms  w0={w0:.5f} w1={w1:.5f}")
    print(f"  closed form          w0={closed[0]:.5f} w1={closed[1]:.5f}")
    torch = torch_or_none()
    if torch is not None:
        theirs, w0, w1 = descend(torch, torch.optim.SGD, torch.from_numpy(x),
                                 torch.from_numpy(y), steps)
        print(f"  pytorch   {theirs * 1e3:8.1f} ms  w0={w0:.5f} w1={w1:.5f}")
        print(f"  ratio chainrule/pytorch time: {ratio(ours, theirs):.2f}")
    return ours


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
