"""PyTorch's top-level names that are one-line forms of something else (issue 19):

* the in-place functions ``chainrule.abs_(x)``, ``chainrule.clamp_(x, min, max)``, ... —
  each ``torch.X_`` whose Tensor method ``X_`` chainrule has, calling that method;
* the top-level spellings of some methods: ``t``, ``split_with_sizes``, ``subtract``,
  ``multiply``, ``absolute``, ``negative``, ``positive``, ``greater``, ... (``METHOD_NAMES``);
* ``detach(x)``;
* ``get_num_threads`` / ``set_num_threads``: the BLAS thread pool through threadpoolctl when
  it is installed (NumPy's own work is single-threaded), else the ``OMP_NUM_THREADS`` /
  ``OPENBLAS_NUM_THREADS`` environment (read by a BLAS that has not started yet).
"""
import os

from ..errors import ArgumentError, ArgumentTypeError
from ..tensor_base import TensorBase

#: every ``torch.X_`` (torch 2.13) whose method ``Tensor.X_`` chainrule has
INPLACE_NAMES = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_",
    "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_",
    "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_",
    "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_",
    "index_put_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_",
    "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_", "round_",
    "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_",
    "trunc_", "xlogy_", "zero_")


#: top-level ``torch.X`` names that are a Tensor method's other spelling (torch.t(x) is x.t())
METHOD_NAMES = ("t", "split_with_sizes", "subtract", "multiply", "absolute", "negative",
                "positive", "greater", "greater_equal", "less", "less_equal", "not_equal")


def _inplace_function(name):
    def function(input, *args, **kwargs):
        if not isinstance(input, TensorBase):
            raise ArgumentTypeError(f"{name}(): argument 'input' must be a Tensor, not "
                                    f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``input.{name}(...)``: changes input in place and returns it."
    return function


globals().update({name: _inplace_function(name) for name in INPLACE_NAMES + METHOD_NAMES})
for _name in METHOD_NAMES:
    globals()[_name].__doc__ = f"``input.{_name}(...)``, PyTorch's top-level spelling."


def detach(input):
    """``input.detach()``: the same data, cut from the graph.

    >>> import chainrule
    >>> chainrule.detach(chainrule.ones(2, requires_grad=True)).requires_grad
    False
    """
    if not isinstance(input, TensorBase):
        raise ArgumentTypeError(f"detach(): argument 'input' must be a Tensor, not "
                                f"{type(input).__name__}")
    return input.detach()


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_threads = {"set": None}


def get_num_threads():
    """The number of threads the BLAS behind matrix products uses (the last value given to
    :func:`set_num_threads`, else what threadpoolctl reports, else the environment's
    ``OMP_NUM_THREADS`` or the CPU count).

    >>> import chainrule
    >>> chainrule.get_num_threads() >= 1
    True
    """
    if _threads["set"] is not None:
        return _threads["set"]
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        counts = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                  if pool.get("user_api") == "blas"]
        if counts:
            return max(counts)
    for variable in _THREAD_VARIABLES:
        value = os.environ.get(variable, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def set_num_threads(num_threads):
    """Use ``num_threads`` threads in the BLAS (through threadpoolctl when installed; without
    it only the environment variables are set, which a BLAS already loaded ignores).

    >>> import chainrule
    >>> before = chainrule.get_num_threads()
    >>> chainrule.set_num_threads(1); chainrule.get_num_threads()
    1
    >>> chainrule.set_num_threads(before)
    """
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads <= 0:
        raise ArgumentError(f"set_num_threads: expects a positive integer, got "
                            f"{num_threads!r}")
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(limits=num_threads, user_api="blas")
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = str(num_threads)
    _threads["set"] = num_threads


__all__ = list(INPLACE_NAMES) + list(METHOD_NAMES) + ["detach", "get_num_threads", "set_num_threads"]
