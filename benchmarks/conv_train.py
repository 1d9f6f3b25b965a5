"""conv_train: LeNet-5 on 28x28 single-channel synthetic images, batch 64, one training step:
samples per second for chainrule and PyTorch side by side.

    python benchmarks/conv_train.py [--quick]
"""
import sys

import numpy as np

from _common import blas_report, isolated_medians, median_time, ratio, torch_or_none


def samples_per_second(which, steps):
    """One contender's median training speed (run in its own process by ``main``)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    if which == "chainrule":
        import chainrule
        from chainrule import nn, optim
        chainrule.manual_seed(0)
        model = chainrule.models.LeNet5(1, 10, 28)
        opt = optim.SGD(model.parameters(), lr=0.01)
        xt, yt = chainrule.tensor(x), chainrule.tensor(y)
        loss_fn = nn.CrossEntropyLoss()

        def run():
            for _ in range(steps):
                opt.zero_grad()
                loss_fn(model(xt), yt).backward()
                opt.step()
    else:
        torch = torch_or_none()
        if torch is None:
            return None
        tm = torch.nn.Sequential(
            torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(400, 120), torch.nn.ReLU(),
            torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))
        topt = torch.optim.SGD(tm.parameters(), lr=0.01)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def run():
            for _ in range(steps):
                topt.zero_grad()
                torch.nn.functional.cross_entropy(tm(tx), ty).backward()
                topt.step()
    return steps * 64 / median_time(run, 5)


def main(quick=False):
    steps = 5 if quick else 20
    print("conv_train: LeNet-5, 28x28x1, batch 64; each library in its own fresh process, "
          "3 rounds taken in turn, medians")
    print(blas_report())
    results = isolated_medians("conv_train", "samples_per_second", ("chainrule", "pytorch"),
                               (steps,), 1 if quick else 3)
    for name, value in results.items():
        print(f"  {name:10s} {value:9.0f} samples/s")
    if "pytorch" in results:
        print(f"  ratio chainrule/pytorch speed: {ratio(results['chainrule'], results['pytorch']):.2f}"
              " (aim: >= 0.7)")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
