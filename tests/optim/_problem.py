"""The small problem the optimizer parity tests train, built from the same numbers in
chainrule and in PyTorch: a linear layer under cross-entropy plus a quartic penalty."""
import numpy as np


class Problem:
    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((16, 5))
        self.y = rng.integers(0, 3, 16)
        self.w0 = rng.standard_normal((3, 5)) * 0.5
        self.b0 = rng.standard_normal(3) * 0.1

    def loss(self, lib, w, b):
        """The loss at weights ``w`` and bias ``b`` (``lib``: chainrule or torch)."""
        return lib.nn.functional.cross_entropy(lib.tensor(self.x) @ w.T + b,
                                               lib.tensor(self.y)) + 0.1 * (w ** 4).sum()

    def start(self, lib):
        """Fresh parameters at the starting point and the loss closure over them."""
        w = lib.tensor(self.w0.copy(), requires_grad=True)
        b = lib.tensor(self.b0.copy(), requires_grad=True)
        return [w, b], lambda: self.loss(lib, w, b)
