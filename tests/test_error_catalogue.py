"""One test per entry of docs/errors.md, asserting the message; and a fuzz test that drives the
public API with bad arguments and accepts only chainrule's own documented errors."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn, optim
from chainrule.errors import (ArgumentError, ArgumentTypeError, ChainruleError, DTypeError,
                              GraphError, IndexOutOfRangeError, InplaceError, ShapeError)
from chainrule.nn import functional as F


def test_01_backward_twice():
    x = chainrule.tensor([1.0], requires_grad=True)
    y = (chainrule.exp(x) * 2).sum()
    y.backward()
    with pytest.raises(GraphError, match="second time.*retain_graph=True"):
        y.backward()


def test_02_backward_on_non_scalar():
    with pytest.raises(GraphError, match=r"shape \(3,\); reduce it first \(loss.sum\(\)"):
        (chainrule.ones(3, requires_grad=True) * 2).backward()


def test_03_matmul_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not fit"):
        chainrule.ones(2, 3) @ chainrule.ones(4, 5)


def test_04_broadcast_shapes():
    with pytest.raises(ShapeError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        chainrule.ones(2, 3) + chainrule.ones(4)


def test_05_target_shape_hints():
    with pytest.raises(ShapeError, match=r"use y.squeeze\(1\)"):
        F.cross_entropy(chainrule.zeros(64, 10), chainrule.zeros(64, 1, dtype="int64"))
    with pytest.raises(ShapeError, match=r"use target.squeeze\(-1\)"):
        F.mse_loss(chainrule.zeros(64), chainrule.zeros(64, 1))


def test_06_float_labels_for_cross_entropy():
    with pytest.raises(DTypeError, match=r"use y.long\(\)"):
        F.cross_entropy(chainrule.zeros(64, 10), chainrule.zeros(64))


def test_07_labels_out_of_range():
    with pytest.raises(ArgumentError, match=r"must lie in \[0, 10\)"):
        F.cross_entropy(chainrule.zeros(4, 10), chainrule.tensor([0, 1, 2, 10]))


def test_08_probabilities_outside_unit_interval():
    with pytest.raises(ArgumentError, match="apply sigmoid first"):
        F.binary_cross_entropy(chainrule.tensor([-2.0, 3.0]), chainrule.tensor([0.0, 1.0]))


def test_09_numpy_and_python_numbers_are_accepted():
    x = chainrule.tensor([1.0, 2.0, 3.0])
    assert (x * np.ones(3, dtype=np.float32)).tolist() == [1.0, 2.0, 3.0]
    assert (np.ones(3, dtype=np.float32) + x).tolist() == [2.0, 3.0, 4.0]
    assert F.mse_loss(x, np.array([1.0, 2.0, 3.0], dtype=np.float32)).item() == 0.0
    assert nn.Linear(3, 1)(np.ones((2, 3), dtype=np.float32)).shape == (2, 1)


def test_10_model_instead_of_parameters():
    with pytest.raises(ArgumentTypeError, match=r"pass model.parameters\(\) instead of the "
                                                r"Sequential"):
        optim.SGD(nn.Sequential(nn.Linear(1, 1)), lr=0.1)


def test_11_step_without_gradients_warns():
    with pytest.warns(UserWarning, match="found no gradients"):
        optim.Adam(nn.Linear(1, 1).parameters()).step()


def test_12_parameters_missing_from_optimizer_warn():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with pytest.warns(UserWarning, match="not in the optimizer"):
        chainrule.fit(model, nn.MSELoss(), optim.SGD(model[1].parameters(), lr=0.1),
                      (np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32)), metrics=())


def test_13_eval_mode_while_training_warns_once():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
    with pytest.warns(UserWarning, match=r"call model.train\(\) first"):
        model(chainrule.ones(1, 2)).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(chainrule.ones(1, 2))                # warned once only
        with chainrule.no_grad():
            nn.Sequential(nn.Dropout(0.5)).eval()(chainrule.ones(2))


def test_14_float64_data_into_float32_model():
    nn.linear._warned_dtype.clear()          # the warning comes once per process
    layer = nn.Linear(2, 1)
    with pytest.warns(UserWarning, match="converting the input"):
        assert layer(np.ones((3, 2))).dtype == np.float32


def test_15_integer_tensors_cannot_require_grad():
    with pytest.raises(DTypeError, match="only floating-point tensors can require gradients"):
        chainrule.tensor([1, 2], requires_grad=True)


def test_16_in_place_change_of_saved_tensor():
    a = chainrule.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * b
    b.add_(1)
    with pytest.raises(InplaceError, match="modified in place"):
        c.sum().backward()


def test_17_in_place_update_of_parameter_while_recording():
    w = nn.Linear(1, 1).weight
    with pytest.raises(GraphError, match=r"wrap the update in chainrule.no_grad\(\)"):
        w -= 0.1


def test_18_reshape_count():
    with pytest.raises(ShapeError, match=r"\(12 elements\) into \(5, -1\)"):
        chainrule.zeros(3, 4).reshape(5, -1)


def test_19_linear_width():
    with pytest.raises(ShapeError, match="in_features=3"):
        nn.Linear(3, 2)(chainrule.ones(5, 4))


def test_20_and_21_fit_data_problems():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ShapeError, match="X has 10 samples but y has 9"):
        chainrule.fit(model, nn.CrossEntropyLoss(), opt, (np.zeros((10, 3)), np.zeros(9, int)))
    with pytest.raises(ArgumentError, match="empty"):
        chainrule.fit(model, nn.CrossEntropyLoss(), opt, (np.zeros((0, 3)), np.zeros(0, int)))


def test_22_nan_explained_by_divergence_guard():
    model = nn.Linear(2, 2)
    history = chainrule.fit(model, lambda o, t: chainrule.log(o - t).sum(),
                            optim.SGD(model.parameters(), lr=0.1),
                            (np.ones((4, 2), np.float32), np.full((4, 2), 9.0, np.float32)),
                            metrics=(), callbacks=[chainrule.train.DivergenceGuard()])
    assert "detect_anomaly found: Log produced NaN" in history.stop_reason


def test_23_tensor_as_bool():
    with pytest.raises(ArgumentError, match="ambiguous"):
        bool(chainrule.ones(2))


def test_24_index_out_of_range():
    with pytest.raises(IndexOutOfRangeError, match=r"shape \(3,\)"):
        chainrule.ones(3)[5]


# ---------------------------------------------------------------- fuzzing the public API

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)  # noqa: E501
dtypes = st.sampled_from(["float32", "float64", "int64", "bool"])


def _tensor(shape, dtype):
    return chainrule.tensor(np.ones(shape, dtype=dtype))


CALLS = [
    lambda a, b, k: a + b,
    lambda a, b, k: a @ b,
    lambda a, b, k: a * b,
    lambda a, b, k: chainrule.maximum(a, b),
    lambda a, b, k: a.reshape(k, -1),
    lambda a, b, k: a.sum(dim=k),
    lambda a, b, k: a.max(dim=k),
    lambda a, b, k: a.softmax(dim=k),
    lambda a, b, k: a.transpose(0, k),
    lambda a, b, k: a[k],
    lambda a, b, k: chainrule.cat([a, b], dim=k),
    lambda a, b, k: chainrule.stack([a, b], dim=k),
    lambda a, b, k: a.unsqueeze(k),
    lambda a, b, k: a.squeeze(k),
    lambda a, b, k: a.gather(k, b),
    lambda a, b, k: F.cross_entropy(a, b),
    lambda a, b, k: F.mse_loss(a, b),
    lambda a, b, k: F.binary_cross_entropy(a, b),
    lambda a, b, k: F.nll_loss(a, b),
    lambda a, b, k: nn.Linear(3, 2)(a),
    lambda a, b, k: chainrule.one_hot(a, k),
    lambda a, b, k: chainrule.einsum("ij,jk->ik", a, b),
    lambda a, b, k: a.requires_grad_(),
    lambda a, b, k: chainrule.tensor(a.numpy(), dtype="complex64"),
    lambda a, b, k: (a * 1.0).backward(),
    lambda a, b, k: chainrule.zeros(k, 2) @ a,
    lambda a, b, k: chainrule.data.DataLoader(chainrule.data.TensorDataset(a, b), batch_size=k),
    lambda a, b, k: optim.SGD([a], lr=float(k)),
    lambda a, b, k: a.item(),
    lambda a, b, k: chainrule.split(a, k),
    lambda a, b, k: chainrule.pad(a, k),
    lambda a, b, k: a.norm(dim=k),
    lambda a, b, k: a.var(dim=k),
]


@settings(max_examples=400, deadline=None)
@given(call=st.integers(0, len(CALLS) - 1), sa=shapes, sb=shapes, da=dtypes, db=dtypes,
       k=st.integers(-4, 4))
def test_bad_arguments_raise_only_chainrule_errors(call, sa, sb, da, db, k):
    a, b = _tensor(sa, da), _tensor(sb, db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            CALLS[call](a, b, k)
        except ChainruleError:
            pass
