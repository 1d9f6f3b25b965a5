"""Weight and spectral normalisation as parametrizations (PyTorch's
``torch.nn.utils.parametrizations``), with PyTorch's state_dict keys:
``parametrizations.weight.original0`` (the norms g) and ``original1`` (the directions v) for
weight_norm; ``parametrizations.weight.original`` and the power-iteration vectors
``parametrizations.weight.0._u`` / ``._v`` for spectral_norm.

>>> import chainrule
>>> layer = weight_norm(chainrule.nn.Linear(3, 2))
>>> list(layer.state_dict())
['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']
"""
from ... import backend
from ...autograd.grad_mode import no_grad
from ...errors import ArgumentError
from ...generator import default_generator
from ...tensor import Tensor
from .. import conv
from ..module import Module
from .parametrize import register_parametrization


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of v over every dimension but ``dim``, shaped to broadcast against v
    (one number for the whole tensor when dim is -1), as PyTorch's ``norm_except_dim``."""
    if dim == -1:
        return v.norm(pow)
    dims = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=dims, keepdim=True) if dims else v.abs()


class _WeightNorm(Module):
    """weight = g * v / ||v||, the norm over every dimension but ``dim``."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as g * v / ||v|| (Salimans & Kingma): g (the norms over
    all dimensions but ``dim``; ``dim=None`` for one norm) and v are the trained parameters.

    >>> import chainrule
    >>> layer = weight_norm(chainrule.nn.Linear(3, 2))
    >>> layer.parametrizations.weight.original0.shape
    (2, 1)
    """
    if dim is not None and dim < -1:
        dim += getattr(module, name).ndim
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


def _normalize(vector, eps):
    xp = backend.xp
    return vector / xp.maximum(xp.linalg.norm(vector), eps)


class _SpectralNorm(Module):
    """weight / sigma, sigma the largest singular value of the weight (as a matrix with
    ``dim`` first), estimated by power iteration on the buffers ``_u`` and ``_v`` (one step
    of it per forward in training mode)."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if n_power_iterations <= 0:
            raise ArgumentError(f"spectral_norm: n_power_iterations must be positive, got "
                                f"{n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps, self.n_power_iterations = eps, n_power_iterations
        if ndim > 1:
            with no_grad():
                matrix = self._matrix(weight)._data
            rng = default_generator.numpy
            h, w = matrix.shape
            self.register_buffer("_u", Tensor._make(_normalize(
                rng.standard_normal(h).astype(matrix.dtype), eps), None))
            self.register_buffer("_v", Tensor._make(_normalize(
                rng.standard_normal(w).astype(matrix.dtype), eps), None))
            self._power_method(matrix, 15)

    def _matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, matrix, iterations):
        u, v = self._u._data, self._v._data
        for _ in range(iterations):
            u[...] = _normalize(matrix @ v, self.eps)
            v[...] = _normalize(matrix.conj().T @ u, self.eps)
        self._u._bump_version()
        self._v._bump_version()

    def forward(self, weight):
        if weight.ndim == 1:
            return weight / weight.norm().clamp(min=self.eps)
        matrix = self._matrix(weight)
        if self.training:
            with no_grad():
                self._power_method(matrix._data, self.n_power_iterations)
        u = Tensor._make(self._u._data.copy(), None)
        v = Tensor._make(self._v._data.copy(), None)
        sigma = (u * (matrix @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm (largest singular value), estimated by
    power iteration, as PyTorch's parametrization (``dim`` 1 for transposed convolutions,
    else 0, by default).

    >>> import chainrule
    >>> layer = spectral_norm(chainrule.nn.Linear(4, 3))
    >>> sorted(name for name, _ in layer.named_buffers())
    ['parametrizations.weight.0._u', 'parametrizations.weight.0._v']
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ArgumentError(f"spectral_norm: module {type(module).__name__} has no parameter "
                            f"or buffer named {name!r}")
    if dim is None:
        dim = 1 if isinstance(module, _TRANSPOSED) else 0
    return register_parametrization(module, name,
                                    _SpectralNorm(weight, n_power_iterations, dim, eps))


_TRANSPOSED = tuple(getattr(conv, name) for name in
                    ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
                    if hasattr(conv, name))
