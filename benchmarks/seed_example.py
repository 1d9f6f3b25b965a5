"""seed_example: y_hat = w*x, loss = (y_hat - y)^2 at x=1, y=2, w=1 — 10,000 forward+backward
iterations; microseconds per iteration, and the gradient -2 checked.

    python benchmarks/seed_example.py [--quick]
"""
import sys

from _common import median_time, ratio, torch_or_none


def main(quick=False):
    import chainrule
    n = 2_000 if quick else 10_000
    x, y = chainrule.tensor(1.0), chainrule.tensor(2.0)
    w = chainrule.tensor(1.0, requires_grad=True)

    def ours():
        for _ in range(n):
            w.grad = None
            ((w * x - y) ** 2).backward()
    ours()
    assert w.grad.item() == -2.0
    results = {"chainrule": median_time(ours, 5) / n * 1e6}

    def numpy_version():
        wv, xv, yv = 1.0, 1.0, 2.0
        for _ in range(n):
            s = wv * xv - yv
            _ = s * s
            _ = 2 * s * xv
    results["python floats"] = median_time(numpy_version, 5) / n * 1e6
    torch = torch_or_none()
    if torch is not None:
        tx, ty = torch.tensor(1.0), torch.tensor(2.0)
        tw = torch.tensor(1.0, requires_grad=True)

        def theirs():
            for _ in range(n):
                tw.grad = None
                ((tw * tx - ty) ** 2).backward()
        theirs()
        assert tw.grad.item() == -2.0
        results["pytorch"] = median_time(theirs, 5) / n * 1e6
    print(f"seed_example: {n} forward+backward iterations (gradient -2 checked)")
    for name, us in results.items():
        print(f"  {name:14s} {us:8.2f} us/iteration")
    if "pytorch" in results:
        print(f"  ratio chainrule/pytorch time: {ratio(results['chainrule'], results['pytorch']):.2f}"
              " (bar: <= 1.5)")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
