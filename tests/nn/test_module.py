"""Module: registration, traversal, modes, state_dict round trips and strict errors."""
import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.errors import ShapeError


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 2)])
        self.scale = nn.Parameter(chainrule.ones(1))
        self.head = nn.ModuleDict({"act": nn.ReLU()})

    def forward(self, x):
        return self.layers[1](self.head["act"](self.layers[0](x))) * self.scale


def test_parameters_registered_by_assignment_with_pytorch_names():
    names = [n for n, _ in TwoLayer().named_parameters()]
    assert names == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias"]
    model = TwoLayer()
    assert len(list(model.children())) == 2
    assert len(list(model.modules())) == 6
    assert model.num_parameters() == 1 + 12 + 4 + 8 + 2


def test_train_eval_propagate_and_zero_grad():
    model = TwoLayer()
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model(chainrule.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip():
    a, b = TwoLayer(), TwoLayer()
    b.load_state_dict(a.state_dict())
    x = chainrule.randn(5, 3)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_reports_missing_unexpected_and_misshaped_by_name():
    model = TwoLayer()
    state = model.state_dict()
    del state["scale"]
    state["extra.weight"] = chainrule.zeros(1)
    state["layers.0.weight"] = chainrule.zeros(5, 3)
    with pytest.raises(ShapeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing keys: scale" in message
    assert "unexpected keys: extra.weight" in message
    assert "layers.0.weight: checkpoint (5, 3) vs model (4, 3)" in message


def test_non_strict_load_ignores_missing_and_unexpected():
    model = TwoLayer()
    state = {"scale": chainrule.tensor([5.0]), "bogus": chainrule.zeros(1)}
    result = model.load_state_dict(state, strict=False)
    assert model.scale.item() == 5.0 and result.unexpected_keys == ["bogus"]


def test_repr_is_a_readable_tree():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.Tanh()))
    assert text == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                    "  (1): Tanh()\n)")


def test_forgetting_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(chainrule.zeros(1))
    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Bad()


def test_buffers_are_in_state_dict_but_not_parameters():
    bn = nn.BatchNorm1d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
