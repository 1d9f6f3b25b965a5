"""newton_vs_adam: time and steps to reach a target loss for logistic regression on
breast_cancer (float64, full batch) with Newton-CG, LBFGS and Adam.

    python benchmarks/newton_vs_adam.py [--quick]
"""
import sys
import time


def main(quick=False):
    import chainrule
    from chainrule import nn, optim
    from chainrule.data import datasets
    split = datasets.breast_cancer()
    x, y = split.train.tensors
    x, y = x.double(), y.double().reshape(-1, 1)
    target = 0.08
    max_steps = 300 if quick else 3000
    makers = {"Newton-CG": lambda p: optim.Newton(p),
              "LBFGS": lambda p: optim.LBFGS(p, max_iter=1, line_search_fn="strong_wolfe"),
              "Adam": lambda p: optim.Adam(p, lr=0.05)}
    print(f"newton_vs_adam: logistic regression on breast_cancer, steps to loss < {target}")
    results = {}
    for name, make in makers.items():
        chainrule.manual_seed(0)
        model = nn.Linear(split.num_features, 1).double()
        opt = make(model.parameters())

        def loss():
            return nn.functional.binary_cross_entropy_with_logits(model(x), y) + \
                1e-3 * (model.weight ** 2).sum()

        def closure():
            opt.zero_grad()
            value = loss()
            value.backward()
            return value
        start = time.perf_counter()
        steps = 0
        while steps < max_steps:
            steps += 1
            if isinstance(opt, optim.Newton):
                opt.step(loss)
            elif isinstance(opt, optim.LBFGS):
                opt.step(closure)
            else:
                closure()
                opt.step()
            with chainrule.no_grad():
                value = float(loss()._data)
            if value < target:
                break
        elapsed = time.perf_counter() - start
        results[name] = (steps, elapsed, value)
        print(f"  {name:10s} {steps:5d} steps  {elapsed * 1e3:8.1f} ms  final loss {value:.4f}")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
