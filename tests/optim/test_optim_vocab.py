"""Adadelta, NAdam, RAdam, ASGD and Rprop match PyTorch 2.13 step by step for 50 steps, keep
PyTorch's state names, and round-trip their state_dict; every optimizer takes PyTorch's
constructor arguments (``foreach``, ``fused``, ... accepted as PyTorch code passes them)."""
import inspect

import numpy as np
import pytest

import chainrule
from chainrule import optim
from tests.optim._problem import Problem
from chainrule.errors import ArgumentError

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

PROBLEM = Problem(1)


def _ours():
    return PROBLEM.start(chainrule)


def _theirs():
    return PROBLEM.start(torch)


OPTIMIZERS = {
    "adadelta": ("Adadelta", dict()),
    "adadelta_wd_maximize": ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    "nadam": ("NAdam", dict(lr=0.01)),
    "nadam_wd": ("NAdam", dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.05,
                               momentum_decay=0.01)),
    "nadamw": ("NAdam", dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True)),
    "radam": ("RAdam", dict(lr=0.01)),
    "radam_short_memory": ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),
    "radamw": ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    "asgd": ("ASGD", dict(lr=0.05)),
    "asgd_averaging": ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=10, weight_decay=0.01)),
    "rprop": ("Rprop", dict()),
    "rprop_tight": ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    "adam_decoupled": ("Adam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True,
                                    foreach=False, fused=None)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.02, amsgrad=True, foreach=False)),
    "sgd_foreach": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, foreach=False)),
    "rmsprop_foreach": ("RMSprop", dict(lr=0.01, centered=True, foreach=False)),
    "adagrad_foreach": ("Adagrad", dict(lr=0.1, foreach=False)),
    "adamax_foreach": ("Adamax", dict(lr=0.05, foreach=False)),
}
MAXIMIZE = {"adadelta_wd_maximize"}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_pytorch_for_50_steps(name):
    cls, kwargs = OPTIMIZERS[name]
    ours, our_loss = _ours()
    theirs, their_loss = _theirs()
    sign = -1 if name in MAXIMIZE else 1
    opt = getattr(optim, cls)(ours, **kwargs, maximize=name in MAXIMIZE)
    topt = getattr(torch.optim, cls)(theirs, **kwargs, maximize=name in MAXIMIZE)
    for step in range(50):
        opt.zero_grad()
        (sign * our_loss()).backward()
        opt.step()
        topt.zero_grad()
        (sign * their_loss()).backward()
        topt.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-9, atol=1e-11,
                                       err_msg=f"{name} step {step}")
    state, their_state = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert sorted(state) == sorted(their_state)
    for key, value in their_state.items():
        np.testing.assert_allclose(np.asarray(state[key], dtype=float),
                                   value.double().numpy(), rtol=1e-6, err_msg=key)
    if "ax" in their_state:                                  # ASGD's averaged iterate
        np.testing.assert_allclose(state["ax"], their_state["ax"].numpy(), rtol=1e-9)


@pytest.mark.parametrize("name", ["nadam", "rprop", "asgd_averaging"])
def test_state_dict_round_trip_continues_identically(name):
    cls, kwargs = OPTIMIZERS[name]
    ours, loss = _ours()
    opt = getattr(optim, cls)(ours, **kwargs)
    for _ in range(5):
        opt.zero_grad()
        loss().backward()
        opt.step()
    saved = opt.state_dict()
    twin_params = [chainrule.tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    twin = getattr(optim, cls)(twin_params, **kwargs)
    twin.load_state_dict(saved)
    for params, optimizer in ((ours, opt), (twin_params, twin)):
        optimizer.zero_grad()
        w, b = params
        PROBLEM.loss(chainrule, w, b).backward()
        optimizer.step()
    for p, q in zip(ours, twin_params):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_pytorch_positional_arguments_and_refused_options():
    w = chainrule.tensor([1.0], requires_grad=True)
    assert optim.Adadelta([w], 0.5, 0.8, 1e-5, 0.1, None).defaults["rho"] == 0.8
    assert optim.ASGD([w], 0.1, 1e-3, 0.5, 100.0, 0.0, None, True).defaults["maximize"]
    with pytest.raises(ArgumentError, match="capturable"):
        optim.RAdam([w], capturable=True)
    with pytest.raises(ArgumentError, match="etas"):
        optim.Rprop([w], etas=(1.5, 1.2))
    with pytest.raises(ArgumentError, match="rho"):
        optim.Adadelta([w], rho=1.5)


OPTIMIZER_NAMES = ["SGD", "Adam", "AdamW", "Adamax", "RMSprop", "Adagrad", "Adadelta", "NAdam",
                   "RAdam", "ASGD", "Rprop", "LBFGS"]


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_constructor_arguments_are_pytorchs(name):
    def arguments(cls):
        return [(p.name, p.kind, float(p.default) if isinstance(p.default, (int, float))
                 and not isinstance(p.default, bool) else repr(p.default))
                for p in inspect.signature(cls.__init__).parameters.values()]
    assert arguments(getattr(optim, name)) == arguments(getattr(torch.optim, name))
    w = chainrule.tensor([1.0], requires_grad=True)
    if "differentiable" in inspect.signature(getattr(optim, name).__init__).parameters:
        with pytest.raises(ArgumentError, match="differentiable"):
            getattr(optim, name)([w], differentiable=True)
