"""The workspace: buffers are reused only when nothing refers to them, and what it holds stays
flat across many steps and within its bound across changing shapes."""
import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.ops import workspace


@pytest.fixture
def small_arrays_pooled(monkeypatch):
    """Keep even small arrays (the tests use small tensors), with a fresh workspace."""
    monkeypatch.setattr(workspace, "MIN_BYTES", 0)
    monkeypatch.setattr(workspace, "_workspace", workspace.Workspace())
    yield workspace._workspace


def test_a_buffer_is_handed_out_again_only_when_nothing_refers_to_it(small_arrays_pooled):
    a = workspace.empty((10, 10), np.float64)
    a[...] = 1.0
    view = a[2:, ::2].T                      # a view keeps the buffer in use
    del a
    b = workspace.empty((10, 10), np.float64)
    b[...] = 2.0
    assert (view == 1.0).all()
    del view
    c = workspace.empty((10, 10), np.float64)
    assert not np.shares_memory(b, c)
    del b
    assert workspace.empty((10, 10), np.float64).base is not c.base
    assert small_arrays_pooled.total == 2 * 800


def test_saved_tensors_and_user_references_keep_their_buffers(small_arrays_pooled):
    x = chainrule.randn(2, 3, 6, 6, requires_grad=True)
    w = chainrule.randn(4, 3, 3, 3, requires_grad=True)
    y = chainrule.nn.functional.conv2d(x, w)
    kept = y.numpy()
    expected = kept.copy()
    for _ in range(3):                       # more convolutions while y and its graph live
        chainrule.nn.functional.conv2d(x, w).sum().backward()
    np.testing.assert_array_equal(kept, expected)
    y.sum().backward()                       # y's saved im2col matrix was not overwritten
    g = w.grad.numpy().copy()
    w.grad = None
    chainrule.nn.functional.conv2d(x, w).sum().backward()
    np.testing.assert_allclose(g / 4, w.grad.numpy(), rtol=1e-6)


def _layer():
    chainrule.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 2, 1), nn.AdaptiveAvgPool2d(1))


@pytest.fixture(params=["im2col", "kernel rows"])
def convolution_form(request, monkeypatch):
    """Both forms of the stride-1 convolution: the full im2col matrix (kept for the weight
    gradient), or the kernel-rows form (its matrices are not kept)."""
    from chainrule.ops import conv
    if request.param == "kernel rows":
        monkeypatch.setattr(conv, "KERNEL_ROWS_MIN_COLUMNS", 1)
        monkeypatch.setattr(conv, "SHORT_PRODUCT", 0)
        monkeypatch.setattr(conv, "WHOLE_BYTES", 0)
        taken, original = [], conv._convolve_by_kernel_rows
        monkeypatch.setattr(conv, "_convolve_by_kernel_rows",
                            lambda *a: taken.append(1) or original(*a))
        yield taken
    else:
        yield None


def test_what_the_workspace_holds_stays_flat_over_1000_training_steps(small_arrays_pooled,
                                                                        convolution_form):
    model = _layer()
    opt = chainrule.optim.SGD(model.parameters(), lr=0.01)
    x = chainrule.randn(3, 2, 8, 8)

    def step():         # (a squared loss: sum() would diverge to inf, and inf takes the
        opt.zero_grad()     # convolutions' exact path, which has buffers of its own)
        (model(x) ** 2).sum().backward()
        opt.step()
    for _ in range(3):
        step()
    held = small_arrays_pooled.total
    assert held > 0
    for _ in range(1000):
        step()
    assert all(np.isfinite(p.numpy()).all() for p in model.parameters())
    assert small_arrays_pooled.total == held
    assert convolution_form is None or convolution_form       # the form asked for ran


def test_changing_batch_sizes_stay_within_the_bound(small_arrays_pooled, convolution_form):
    model = _layer()
    limit = 64 * 1024
    workspace.set_limit(limit)
    try:
        for step in range(200):
            x = chainrule.randn(1 + step % 7, 2, 8, 8)
            model(x).sum().backward()
            assert small_arrays_pooled.total <= limit
        held = small_arrays_pooled.total
        for step in range(70):                      # every size seen: nothing new is kept
            x = chainrule.randn(1 + step % 7, 2, 8, 8)
            model(x).sum().backward()
        assert small_arrays_pooled.total <= max(held, limit)
    finally:
        workspace.set_limit(256 * 1024 * 1024)


def test_a_full_workspace_drops_free_buffers_first_then_stops_keeping(small_arrays_pooled):
    workspace.set_limit(3000)
    try:
        kept = [workspace.empty((100,), np.float64) for _ in range(3)]   # 2400 bytes, in use
        extra = workspace.empty((100,), np.float64)                        # does not fit
        assert small_arrays_pooled.total == 2400 and extra.shape == (100,)
        del kept[0]
        workspace.empty((88,), np.float64)          # the free 800-byte buffer makes room
        assert small_arrays_pooled.total == 2400 - 800 + 704
    finally:
        workspace.set_limit(256 * 1024 * 1024)


def test_clear_forgets_buffers_but_arrays_in_use_stay_valid(small_arrays_pooled):
    a = workspace.empty((5,), np.float64)
    a[...] = 3.0
    workspace.clear()
    assert workspace.held_bytes() == 0 and (a == 3.0).all()
