"""mlp_train: 784-256-256-256-10 MLP, ReLU, softmax cross-entropy, SGD lr 0.01, batch 128,
float32, synthetic MNIST-shaped data (60,000 x 784): training samples per second of chainrule,
PyTorch and a hand-written NumPy bound (bars: >= 1.0x PyTorch, >= 0.9x the bound).

The NumPy bound is the same math with no framework: the same forward (x @ W.T + b, ReLU),
the same fused softmax cross-entropy (its loss value included), every gradient materialised
as chainrule and PyTorch do (weights and biases), then the SGD update; every buffer is
allocated once, every operation writes in place (``out=``), the products are BLAS calls on
the arrays as laid out (no copies of transposes), through ``np.matmul`` (``np.dot`` with
``out=`` zero-fills its output before the GEMM: a wasted pass over every product); the SGD
step is one BLAS axpy per parameter (w += -lr * g in one pass, without a temporary, rounded
once as PyTorch's and chainrule's SGD round it: chainrule's ``backend_helpers.add_scaled_``,
which is NumPy's own OpenBLAS ``axpy`` and no framework).

Before timing, the three start from the same weights and must agree: the first loss in
float32, and every gradient in float64. Each contender is then timed in its own process,
taking turns round after round; ratios are per round, medians are printed.

    python benchmarks/mlp_train.py [--quick] [--rounds N]
"""
import sys

import numpy as np

from _common import disagreements as over_tolerance
from _common import (blas_report, isolated, median_time, options, print_agreement,
                     relative_difference, report_rounds, rounds_of, torch_or_none, where,
                     worst_gradient_difference)

SIZES = (784, 256, 256, 256, 10)
BATCH = 128
LR = 0.01
TOLERANCE = {"loss_float32": 1e-5, "grad_float64": 1e-10, "numpy_loss_float32": 1e-5,
             "numpy_grad_float64": 1e-10}


def data(n=60_000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    return x, y


def init_weights(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [((rng.uniform(-1, 1, (o, i)) / np.sqrt(i)).astype(dtype), np.zeros(o, dtype))
            for i, o in zip(SIZES[:-1], SIZES[1:])]


# ---------------------------------------------------------------- the three contenders

def chainrule_model(dtype=np.float32, perturb=0.0):
    from chainrule import nn
    layers = []
    for (w, b) in init_weights(dtype=dtype):
        linear = nn.Linear(w.shape[1], w.shape[0]).to(dtype)
        linear.weight._data[...] = w + perturb
        linear.bias._data[...] = b
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def torch_model(torch, dtype=np.float32, perturb=0.0):
    layers = []
    for (w, b) in init_weights(dtype=dtype):
        linear = torch.nn.Linear(w.shape[1], w.shape[0]).to(torch.from_numpy(w).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w + perturb))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def chainrule_trainer(x, y):
    import chainrule
    from chainrule import nn, optim
    model = chainrule_model()
    opt = optim.SGD(model.parameters(), lr=LR)
    return training_loop(model, opt, nn.CrossEntropyLoss(), x, y, chainrule.tensor)


def torch_trainer(torch, x, y):
    model = torch_model(torch)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    return training_loop(model, opt, torch.nn.functional.cross_entropy, x, y, torch.from_numpy)


def training_loop(model, opt, loss_fn, x, y, to_tensor):
    """``run(steps)``: SGD steps over fixed batches — the same code for chainrule and PyTorch;
    returns the last step's loss."""
    batches = [(to_tensor(x[i:i + BATCH]), to_tensor(y[i:i + BATCH]))
               for i in range(0, len(x) - BATCH + 1, BATCH)]

    def run(steps):
        for i in range(steps):
            xb, yb = batches[i % len(batches)]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()
    return run


class NumpyMLP:
    """The NumPy lower bound: the MLP's forward, softmax cross-entropy, backward and SGD step
    written by hand, every buffer allocated once."""

    def __init__(self, dtype=np.float32, batch=BATCH):
        self.params = init_weights(dtype=dtype)
        self.acts = [np.empty((batch, s), dtype) for s in SIZES[1:]]
        self.grad_acts = [np.empty((batch, s), dtype) for s in SIZES[1:]]
        self.masks = [np.empty((batch, s), bool) for s in SIZES[1:-1]]
        self.zeros = [np.zeros((batch, s), dtype) for s in SIZES[1:-1]]   # ReLU's other operand
        self.grad_w = [np.empty_like(w) for w, _ in self.params]
        self.grad_b = [np.empty_like(b) for _, b in self.params]
        self.row_max = np.empty((batch, 1), dtype)
        self.row_sum = np.empty((batch, 1), dtype)
        self.rows = np.arange(batch)

    def forward_backward(self, xb, yb):
        """Fill the gradient buffers for batch (xb, yb); the mean cross-entropy loss."""
        last = len(self.params) - 1
        inputs = xb
        for i, (w, b) in enumerate(self.params):
            z = self.acts[i]
            np.matmul(inputs, w.T, out=z)
            z += b
            if i < last:
                np.maximum(self.zeros[i], z, out=z)    # 3x faster than against 0
            inputs = z
        logits, g = self.acts[-1], self.grad_acts[-1]
        np.max(logits, axis=1, keepdims=True, out=self.row_max)
        np.subtract(logits, self.row_max, out=g)
        picked = g[self.rows, yb]
        np.exp(g, out=g)
        np.sum(g, axis=1, keepdims=True, out=self.row_sum)
        loss = float(np.mean(np.log(self.row_sum[:, 0]) - picked))
        g /= self.row_sum
        g[self.rows, yb] -= 1
        g *= 1.0 / len(yb)
        for i in range(last, -1, -1):
            g = self.grad_acts[i]
            np.matmul(g.T, xb if i == 0 else self.acts[i - 1], out=self.grad_w[i])
            np.sum(g, axis=0, out=self.grad_b[i])
            if i:
                below = self.grad_acts[i - 1]
                np.matmul(g, self.params[i][0], out=below)
                np.greater(self.acts[i - 1], 0, out=self.masks[i - 1])
                np.multiply(below, self.masks[i - 1], out=below)
        return loss

    def sgd_step(self, lr=LR):
        from chainrule.backend_helpers import add_scaled_       # NumPy's BLAS axpy
        for (w, b), gw, gb in zip(self.params, self.grad_w, self.grad_b):
            add_scaled_(w, -lr, gw)
            add_scaled_(b, -lr, gb)

    def gradients(self):
        return [(f"{2 * i}.{kind}", grad) for i, (gw, gb) in enumerate(zip(self.grad_w,
                                                                         self.grad_b))
                for kind, grad in (("weight", gw), ("bias", gb))]


def numpy_trainer(x, y):
    bound = NumpyMLP()
    batches = [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x) - BATCH + 1, BATCH)]

    def run(steps):
        for i in range(steps):
            xb, yb = batches[i % len(batches)]
            loss = bound.forward_backward(xb, yb)
            bound.sgd_step()
        return loss
    return run


# ---------------------------------------------------------------- agreement

def cross_check(perturb=0.0):
    """First loss (float32) and every gradient (float64) of chainrule against PyTorch and the
    NumPy bound, from the same weights and batch (``perturb`` nudges PyTorch's weights)."""
    import chainrule
    torch = torch_or_none(threads=1)
    x, y = data(BATCH)
    report = {}
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        ours, theirs = chainrule_model(dtype), torch_model(torch, dtype, perturb)
        loss = chainrule.nn.CrossEntropyLoss()(ours(chainrule.tensor(x.astype(dtype))),
                                               chainrule.tensor(y))
        loss.backward()
        their_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x.astype(dtype))),
                                                       torch.from_numpy(y))
        their_loss.backward()
        bound = NumpyMLP(dtype)
        bound_loss = bound.forward_backward(x.astype(dtype), y)
        if name == "float32":
            report["loss_float32"] = relative_difference(loss.item(), their_loss.item())
            report["numpy_loss_float32"] = relative_difference(loss.item(), bound_loss)
        else:
            mine = [(k, p.grad.numpy()) for k, p in ours.named_parameters()]
            report["grad_float64"] = worst_gradient_difference(
                mine, [(k, p.grad.numpy()) for k, p in theirs.named_parameters()])
            report["numpy_grad_float64"] = worst_gradient_difference(mine, bound.gradients())
    return report


def disagreements(report):
    """The checks of a cross-check report over their tolerance."""
    return over_tolerance(report, TOLERANCE)


# ---------------------------------------------------------------- timing

def samples_per_second(which, steps, repeat, n):
    """One contender's median training speed over ``repeat`` timings of ``steps`` steps
    (run in its own process by ``main``)."""
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


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 7)
    steps, repeat, n = (10, 2, 6_000) if quick else (40, 5, 60_000)
    print(f"mlp_train: 784-256-256-256-10, batch {BATCH}, SGD; median of {repeat} timings of "
          f"{steps} steps; " + where(rounds))
    print(blas_report())
    ok = True
    if torch_or_none() is not None:
        ok = print_agreement("chainrule/pytorch/numpy bound",
                             isolated("mlp_train", "cross_check", threads=1), TOLERANCE)
    results = rounds_of("mlp_train", "samples_per_second", ("chainrule", "pytorch", "numpy"),
                        (steps, repeat, n), rounds, threads)
    report_rounds("mlp_train", "samples/s", results, "samples/s", higher_is_better=True,
                  bar={"pytorch": 1.0, "numpy": 0.9}, also=("numpy",))
    if "pytorch" in results and "numpy" in results:
        bound = [a / b for a, b in zip(results["numpy"], results["pytorch"])]
        print(f"  the NumPy bound against PyTorch: {np.median(bound):.2f} (rounds "
              + " ".join(f"{r:.2f}" for r in bound) + ")")
    if not ok:
        print("mlp_train: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
