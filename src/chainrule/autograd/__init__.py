"""Reverse-mode automatic differentiation: the engine, grad, functional transforms, checks.

``chainrule.autograd.functional`` (jacobian, hessian, vjp, jvp, hvp) is built on the ops, so
it is loaded by ``chainrule`` itself, after them, not by this package.
"""
from .anomaly import detect_anomaly  # noqa
from .engine import backward, grad, topological_order  # noqa
from .function import Function  # noqa
from .grad_mode import (enable_grad, inference_mode, is_anomaly_enabled,  # noqa
                        is_grad_enabled, no_grad, set_grad_enabled)
from .gradcheck import gradcheck, gradgradcheck, numerical_grad  # noqa
