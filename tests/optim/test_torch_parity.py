"""Every optimizer and scheduler matches PyTorch 2.13 step by step for 50 steps."""
import numpy as np
import pytest

import chainrule
from chainrule import optim
from tests.optim._problem import Problem

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

PROBLEM = Problem(0)


def _ours():
    return PROBLEM.start(chainrule)


def _theirs():
    return PROBLEM.start(torch)


OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1)),
    "sgd_nesterov_wd": ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    "sgd_maximize": ("SGD", dict(lr=0.01, maximize=True)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam_amsgrad_wd": ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.1,
                                     betas=(0.8, 0.99))),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamax": ("Adamax", dict(lr=0.02, weight_decay=0.01)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop_centered_momentum": ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5,
                                                  weight_decay=0.01)),
    "adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01,
                                initial_accumulator_value=0.1)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_pytorch_for_50_steps(name):
    cls, kwargs = OPTIMIZERS[name]
    ours, our_loss = _ours()
    theirs, their_loss = _theirs()
    opt = getattr(optim, cls)(ours, **kwargs)
    topt = getattr(torch.optim, cls)(theirs, **kwargs)
    for step in range(50):
        opt.zero_grad()
        our_loss().backward()
        opt.step()
        topt.zero_grad()
        their_loss().backward()
        topt.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-9, atol=1e-11,
                                       err_msg=f"{name} step {step}")


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_matches_pytorch(line_search):
    ours, our_loss = _ours()
    theirs, their_loss = _theirs()
    opt = optim.LBFGS(ours, lr=0.5, max_iter=4, history_size=5, line_search_fn=line_search)
    topt = torch.optim.LBFGS(theirs, lr=0.5, max_iter=4, history_size=5,
                             line_search_fn=line_search)

    def closure_ours():
        opt.zero_grad()
        loss = our_loss()
        loss.backward()
        return loss

    def closure_theirs():
        topt.zero_grad()
        loss = their_loss()
        loss.backward()
        return loss
    for step in range(50):
        a = opt.step(closure_ours)
        b = topt.step(closure_theirs)
        assert float(a.item()) == pytest.approx(float(b.item()), rel=1e-8, abs=1e-10)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-7, atol=1e-9,
                                       err_msg=f"lbfgs step {step}")


SCHEDULERS = {
    "step": ("StepLR", dict(step_size=7, gamma=0.5)),
    "multistep": ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3)),
    "exponential": ("ExponentialLR", dict(gamma=0.95)),
    "cosine": ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001)),
    "linear_warmup": ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=10)),
    "lambda": ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
    "onecycle_sgd": ("OneCycleLR", dict(max_lr=0.5, total_steps=60)),
    "onecycle_three_phase": ("OneCycleLR", dict(max_lr=0.5, total_steps=60, three_phase=True,
                                                anneal_strategy="linear")),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_matches_pytorch_for_50_steps(name):
    cls, kwargs = SCHEDULERS[name]
    ours, our_loss = _ours()
    theirs, their_loss = _theirs()
    opt = optim.SGD(ours, lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs, lr=0.1, momentum=0.9)
    sched = getattr(optim.lr_scheduler, cls)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, cls)(topt, **kwargs)
    for step in range(50):
        opt.zero_grad()
        our_loss().backward()
        opt.step()
        sched.step()
        topt.zero_grad()
        their_loss().backward()
        topt.step()
        tsched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        assert opt.param_groups[0]["momentum"] == pytest.approx(
            topt.param_groups[0]["momentum"], rel=1e-12)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-9, atol=1e-11)


def test_onecycle_cycles_adam_beta1_like_pytorch():
    ours, _ = _ours()
    theirs, _ = _theirs()
    opt, topt = optim.Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=50)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=50)
    for _ in range(49):
        sched.step()
        topt.step()
        tsched.step()
        assert opt.param_groups[0]["betas"][0] == pytest.approx(topt.param_groups[0]["betas"][0])
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr())


def test_reduce_on_plateau_matches_pytorch():
    ours, _ = _ours()
    theirs, _ = _theirs()
    opt, topt = optim.SGD(ours, lr=1.0), torch.optim.SGD(theirs, lr=1.0)
    kwargs = dict(factor=0.5, patience=2, cooldown=1, threshold=0.01, min_lr=0.01)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9] * 5
    for value in metrics:
        sched.step(value)
        tsched.step(value)
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"])
