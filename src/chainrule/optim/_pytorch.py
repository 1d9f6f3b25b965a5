"""Two rules shared by the optimizers that follow PyTorch's update formulas step for step."""
import numpy

from .. import backend
from ..errors import ArgumentError


def torch_scalar(value):
    """``value`` rounded as PyTorch stores a scalar of an optimizer's state (a 0-d tensor of
    the default float dtype, float32 unless changed), so the updates that read it back
    (NAdam's mu_product, ASGD's eta and mu) are the same numbers as PyTorch's."""
    return float(numpy.asarray(value, dtype=backend.default_float))


def refuse_torch_only_options(name, capturable, differentiable):
    """PyTorch's CUDA-graph and differentiable-step options have no meaning here."""
    if capturable or differentiable:
        raise ArgumentError(f"{name}: capturable=True and differentiable=True are PyTorch "
                            "options chainrule does not have; leave them False")
