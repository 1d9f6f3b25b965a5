"""linreg_gd: f(x) = w0 + w1*x, MSE, 1,000 points, 1,000 full-batch GD steps: wall time and
final weights, against PyTorch and the closed form.

    python benchmarks/linreg_gd.py [--quick]
"""
import sys
import time

import numpy as np

from _common import ratio, torch_or_none


def main(quick=False):
    import chainrule
    steps = 200 if quick else 1000
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 1000).astype(np.float32)
    y = (2 * x + 1 + 0.1 * rng.standard_normal(1000)).astype(np.float32)
    xt, yt = chainrule.tensor(x), chainrule.tensor(y)
    w0 = chainrule.zeros(1, requires_grad=True)
    w1 = chainrule.zeros(1, requires_grad=True)
    opt = chainrule.optim.GD([w0, w1], lr=0.5)
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        ((w0 + w1 * xt - yt) ** 2).mean().backward()
        opt.step()
    ours = time.perf_counter() - start
    closed = np.linalg.lstsq(np.column_stack([np.ones(1000), x]), y, rcond=None)[0]
    print(f"linreg_gd: {steps} full-batch GD steps on 1,000 points")
    print(f"  chainrule {ours * 1e3:8.1f} ms  w0={w0.item():.5f} w1={w1.item():.5f}")
    print(f"  closed form          w0={closed[0]:.5f} w1={closed[1]:.5f}")
    torch = torch_or_none()
    if torch is not None:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        a = torch.zeros(1, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        topt = torch.optim.SGD([a, b], lr=0.5)
        start = time.perf_counter()
        for _ in range(steps):
            topt.zero_grad()
            ((a + b * tx - ty) ** 2).mean().backward()
            topt.step()
        theirs = time.perf_counter() - start
        print(f"  pytorch   {theirs * 1e3:8.1f} ms  w0={a.item():.5f} w1={b.item():.5f}")
        print(f"  ratio chainrule/pytorch time: {ratio(ours, theirs):.2f}")
    return ours


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
