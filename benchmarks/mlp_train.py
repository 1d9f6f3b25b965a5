"""mlp_train: 784-256-256-256-10 MLP, ReLU, softmax cross-entropy, SGD lr 0.01, batch 128,
float32, synthetic MNIST-shaped data (60,000 x 784): training samples per second.

    python benchmarks/mlp_train.py [--quick]
"""
import sys

import numpy as np

from _common import blas_report, isolated_medians, median_time, ratio, torch_or_none

SIZES = (784, 256, 256, 256, 10)
BATCH = 128


def data(n=60_000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    return x, y


def init_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [((rng.uniform(-1, 1, (o, i)) / np.sqrt(i)).astype(np.float32),
             np.zeros(o, np.float32)) for i, o in zip(SIZES[:-1], SIZES[1:])]


def chainrule_trainer(x, y):
    import chainrule
    from chainrule import nn, optim
    layers = []
    for (w, b) in init_weights():
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight._data[...] = w
        linear.bias._data[...] = b
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    return training_loop(model, opt, loss_fn, x, y, chainrule.tensor)


def training_loop(model, opt, loss_fn, x, y, to_tensor):
    """``run(steps)``: SGD steps over fixed batches — the same code for chainrule and PyTorch."""
    batches = [(to_tensor(x[i:i + BATCH]), to_tensor(y[i:i + BATCH]))
               for i in range(0, len(x) - BATCH + 1, BATCH)]

    def run(steps):
        for i in range(steps):
            xb, yb = batches[i % len(batches)]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
    return run


def torch_trainer(torch, x, y):
    layers = []
    for (w, b) in init_weights():
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return training_loop(model, opt, torch.nn.functional.cross_entropy, x, y, torch.from_numpy)


def numpy_trainer(x, y):
    """Hand-written forward/backward with preallocated buffers: the NumPy lower bound."""
    params = init_weights()
    n_layers = len(params)
    acts = [np.empty((BATCH, s), np.float32) for s in SIZES]
    grads_a = [np.empty((BATCH, s), np.float32) for s in SIZES]
    grad_w = [np.empty_like(w) for w, _ in params]
    rows = np.arange(BATCH)

    def run(steps):
        for step in range(steps):
            start = (step * BATCH) % (len(x) - BATCH + 1)
            acts[0][...] = x[start:start + BATCH]
            yb = y[start:start + BATCH]
            for i, (w, b) in enumerate(params):
                np.dot(acts[i], w.T, out=acts[i + 1])
                acts[i + 1] += b
                if i < n_layers - 1:
                    np.maximum(acts[i + 1], 0, out=acts[i + 1])
            logits = acts[-1]
            g = grads_a[-1]
            np.subtract(logits, logits.max(axis=1, keepdims=True), out=g)
            np.exp(g, out=g)
            g /= g.sum(axis=1, keepdims=True)
            g[rows, yb] -= 1
            g /= BATCH
            for i in range(n_layers - 1, -1, -1):
                w, b = params[i]
                np.dot(grads_a[i + 1].T, acts[i], out=grad_w[i])
                gb = grads_a[i + 1].sum(axis=0)
                if i:
                    np.dot(grads_a[i + 1], w, out=grads_a[i])
                    np.copyto(grads_a[i], 0, where=acts[i] <= 0)
                grad_w[i] *= 0.01
                w -= grad_w[i]
                b -= 0.01 * gb
    return run


def samples_per_second(which, steps, repeat, n):
    """One contender's median training speed (run in its own process by ``main``)."""
    x, y = data(n)
    if which == "chainrule":
        run = chainrule_trainer(x, y)
    elif which == "numpy":
        run = numpy_trainer(x, y)
    else:
        torch = torch_or_none()
        if torch is None:
            return None
        run = torch_trainer(torch, x, y)
    return steps * BATCH / median_time(lambda: run(steps), repeat)


def main(quick=False):
    steps = 10 if quick else 40
    repeat = 3 if quick else 7
    n = 6_000 if quick else 60_000
    print(f"mlp_train: 784-256-256-256-10, batch {BATCH}, SGD, {steps} steps per timing; "
          "each library in its own fresh process, 3 rounds taken in turn, medians")
    print(blas_report())
    results = isolated_medians("mlp_train", "samples_per_second",
                               ("chainrule", "numpy", "pytorch"), (steps, repeat, n),
                               1 if quick else 3)
    for name, value in results.items():
        print(f"  {name:10s} {value:10.0f} samples/s")
    if "pytorch" in results:
        print(f"  ratio chainrule/pytorch speed: {ratio(results['chainrule'], results['pytorch']):.2f}"
              " (bar: >= 1.0)")
    print(f"  ratio chainrule/numpy speed:   {ratio(results['chainrule'], results['numpy']):.2f}"
          " (bar: >= 0.9)")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
