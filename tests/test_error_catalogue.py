"""One test per entry of docs/errors.md, asserting the message; and a fuzz test that drives the
public API with bad arguments and accepts only chainrule's own documented errors."""
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn, optim
from chainrule.errors import (ArgumentError, ArgumentTypeError, ChainruleError, DTypeError,
                              GraphError, IndexOutOfRangeError, InplaceError, ShapeError)
from chainrule.nn import functional as F

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "errors.md"


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
    # cumulative, sorting, scatter/gather and masks (issue 19.2-3)
    lambda a, b, k: a.cumprod(k),
    lambda a, b, k: a.logcumsumexp(k),
    lambda a, b, k: chainrule.diff(a, 1, k, prepend=b),
    lambda a, b, k: a.topk(k),
    lambda a, b, k: a.kthvalue(k),
    lambda a, b, k: a.mode(k),
    lambda a, b, k: a.unique_consecutive(dim=k),
    lambda a, b, k: chainrule.searchsorted(a, b),
    lambda a, b, k: a.scatter(k, b, a),
    lambda a, b, k: a.scatter_reduce(k, b, a, "amax"),
    lambda a, b, k: a.index_add(k, b, a),
    lambda a, b, k: a.index_put((b,), a, accumulate=True),
    lambda a, b, k: a.masked_scatter(b, a),
    lambda a, b, k: a.take_along_dim(b, k),
    lambda a, b, k: a.put(b, a),
    # shape and construction (issue 19.4)
    lambda a, b, k: a.diagonal(k, 0, k),
    lambda a, b, k: chainrule.diag_embed(a, k, k, -1),
    lambda a, b, k: a.roll((k, 1)),
    lambda a, b, k: a.movedim(k, 0),
    lambda a, b, k: a.unflatten(k, (k, -1)),
    lambda a, b, k: a.narrow(k, b, 1),
    lambda a, b, k: a.tensor_split(b, dim=0),
    lambda a, b, k: a.unfold(0, k, 1),
    lambda a, b, k: a.repeat_interleave(b, dim=0),
    lambda a, b, k: chainrule.block_diag(a, b),
    lambda a, b, k: chainrule.cdist(a, b, p=k),
    lambda a, b, k: chainrule.einsum("i...,j", a, b),
    lambda a, b, k: a[k, :, b],
    lambda a, b, k: chainrule.linspace(a, k, k),
    # elementwise, logical and bitwise (issue 19.1)
    lambda a, b, k: chainrule.remainder(a, b),
    lambda a, b, k: k // a,
    lambda a, b, k: chainrule.div(a, k, rounding_mode="trunc"),
    lambda a, b, k: chainrule.atan2(a, b),
    lambda a, b, k: chainrule.lerp(a, b, k),
    lambda a, b, k: chainrule.clamp(a, min=b, max=k),
    lambda a, b, k: a & b,
    lambda a, b, k: a << k,
    lambda a, b, k: chainrule.isclose(a, b, rtol=k),
    lambda a, b, k: chainrule.round(a, decimals=k),
    lambda a, b, k: chainrule.polygamma(k, a),
    lambda a, b, k: chainrule.logit(a, eps=k),
    lambda a, b, k: chainrule.hypot(a, b),
    lambda a, b, k: a.float_power_(k),
    # reductions and linear algebra (issue 19.5-6)
    lambda a, b, k: chainrule.linalg.inv(a),
    lambda a, b, k: chainrule.linalg.solve(a, b, left=k > 0),
    lambda a, b, k: chainrule.linalg.slogdet(a),
    lambda a, b, k: chainrule.linalg.cholesky(a),
    lambda a, b, k: chainrule.cholesky_solve(a, b),
    lambda a, b, k: chainrule.linalg.qr(a),
    lambda a, b, k: chainrule.linalg.eigh(a),
    lambda a, b, k: chainrule.linalg.svd(a),
    lambda a, b, k: chainrule.linalg.pinv(a, atol=k),
    lambda a, b, k: chainrule.linalg.lstsq(a, b),
    lambda a, b, k: chainrule.linalg.matrix_power(a, k),
    lambda a, b, k: chainrule.linalg.matrix_rank(a),
    lambda a, b, k: chainrule.linalg.cross(a, b, dim=k),
    lambda a, b, k: chainrule.linalg.vecdot(a, b, dim=k),
    lambda a, b, k: chainrule.linalg.multi_dot([a, b]),
    lambda a, b, k: chainrule.linalg.vector_norm(a, k, k),
    lambda a, b, k: chainrule.linalg.matrix_norm(a, k, (k, 0)),
    lambda a, b, k: chainrule.linalg.norm(a, k),
    lambda a, b, k: a.norm("nuc", (0, k)),
    lambda a, b, k: a.quantile(0.5, k),
    lambda a, b, k: a.nanquantile(b, k),
    lambda a, b, k: chainrule.aminmax(a, dim=k),
    lambda a, b, k: chainrule.std_mean(a, k, correction=k),
    lambda a, b, k: chainrule.count_nonzero(a, k),
    lambda a, b, k: chainrule.tensordot(a, b, k),
    lambda a, b, k: chainrule.kron(a, b),
    lambda a, b, k: chainrule.bmm(a, b),
    lambda a, b, k: chainrule.addmm(a, b, b, beta=k),
    # issue 19 vocabulary gaps
    lambda a, b, k: chainrule.addcdiv(a, b, a, value=k),
    lambda a, b, k: chainrule.gcd(a, b),
    lambda a, b, k: chainrule.renorm(a, k, k, 1.0),
    lambda a, b, k: chainrule.bincount(a, b, k),
    lambda a, b, k: chainrule.cov(a, correction=k, fweights=b),
    lambda a, b, k: chainrule.select_scatter(a, b, k, k),
    lambda a, b, k: chainrule.diagonal_scatter(a, b, k, 0, k),
    lambda a, b, k: a.split_with_sizes([k, 1], k),
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


# ---------------------------------------------------------------- data (entries 25-27)

def test_25_samples_of_the_wrong_shape_for_the_preprocessing():
    split = chainrule.data.datasets.load("moons", n=20)
    with pytest.raises(ShapeError, match=r"expected samples of shape \(2,\) \(an array of shape "
                                         r"\(n, 2\)\), got an array of shape \(3, 10\)"):
        split.preprocess(np.zeros((3, 10)))


def test_26_a_preprocessing_description_that_cannot_be_right():
    from chainrule.data.split import Preprocessing
    with pytest.raises(ArgumentError, match="preprocessing.std must be positive"):
        Preprocessing.from_dict({"raw_shape": [2], "mean": [0.0, 0.0], "std": [1.0, 0.0]})


def test_27_an_image_folder_that_cannot_be_used(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    from chainrule.data.images import ImageError, ImageFolder, image_folder_split
    (tmp_path / "cats").mkdir()
    pil.new("RGB", (4, 4)).save(tmp_path / "cats" / "0.png")
    with pytest.raises(ImageError, match="training needs at least 2"):
        image_folder_split(str(tmp_path))
    (tmp_path / "birds").mkdir()
    with pytest.raises(ImageError, match="class folder birds in .* holds no readable image"):
        ImageFolder(str(tmp_path))
    (tmp_path / "birds" / "x.png").write_bytes(b"\x89PNG no")
    with pytest.raises(ImageError, match=r"x.png is not a readable image .*--skip-bad-images"):
        ImageFolder(str(tmp_path))
    (tmp_path / "birds" / "x.png").unlink()
    (tmp_path / "birds").rmdir()
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(ImageError, match="loop is a symbolic link that loops back on itself"):
        ImageFolder(str(tmp_path))


# ---------------------------------------------------------------- the command line (28-46)

def _cli_cases(root):
    """(entry, command line, phrases its stderr must hold, exit code), run in order."""
    np.save(root / "nan.npy", np.array([[0.0, 1.0], [2.0, np.nan]]))
    np.save(root / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (root / "complex.csv").write_text("1,2\n1+2j,3\n")
    (root / "bad.toml").write_text("epochs = 2\nlearning_rate = 0.1\n")
    os.mkfifo(root / "fifo.npy")
    (root / "photos" / "birds").mkdir(parents=True)
    chainrule.save({"w": chainrule.zeros(2)}, str(root / "weights.safetensors"))
    model = chainrule.models.MLP(4, [3], 2)
    chainrule.save_checkpoint(str(root / "wide.safetensors"), model=model, extra={
        "model": {"type": "mlp", "in_features": 64, "hidden": [200000], "out_features": 10}})
    gpt = chainrule.models.GPT(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8)
    chainrule.save_checkpoint(str(root / "gpt.safetensors"), model=gpt, extra={
        "model": {"type": "gpt", **gpt.config}, "task": "language_model"})
    run = ["--checkpoint", "run/model.safetensors"]
    first = ["train", "--dataset", "moons", "--hidden", "8", "--optimizer", "sgd", "--lr",
             "0.1", "--epochs", "2", "--out", "run", "--no-progress"]
    return [
        (None, first, [], 0),
        (28, ["train", "--hidden", "12x3"], ["argument --hidden: expected comma-separated "
                                             "whole numbers like 128,64, got '12x3'"], 2),
        (28, ["train", "--lr", "nan"], ["argument --lr: expected a finite number"], 2),
        (29, ["train", "--bogus"], ["chainrule train: error: unrecognized arguments: --bogus"],
         2),
        (30, ["train", "--dataset", "moons", "--hidden", "200000,200000"],
         ["--hidden 200000,200000: the model would have 40,001,200,002 parameters",
          "use smaller layers"], 2),
        (31, ["train", "--config", "bad.toml"],
         ["config file bad.toml: unknown keys learning_rate", "allowed: activation"], 2),
        (32, first, ["--out run already holds a run of mlp on moons: 2 of 2 epochs "
                     "checkpointed, finished", "add --resume to continue it, --overwrite to "
                                               "replace it, or choose another --out"], 2),
        (33, ["train", "--out", "photos", "--resume"],
         ["--resume: there is no checkpoint to resume from in photos/checkpoints",
          "start the run without --resume"], 2),
        (34, ["train", "--out", "run", "--resume"],
         ["--resume: run has already trained 2 epochs, and --epochs is 2",
          "pass --epochs N with N above 2 to train further"], 2),
        (35, ["train", "--out", "run", "--resume", "--epochs", "3", "--optimizer", "adam"],
         ["--resume: run was trained with --optimizer sgd, not --optimizer adam",
          "leave those options out"], 2),
        (36, ["train", "--dataset", "moons", "--hidden", "16", "--lr", "1e6", "--epochs", "2",
              "--no-progress"], ["training diverged: DivergenceGuard:", "lr=1e+06",
                                 "nothing was saved (no --out)"], 3),
        (38, ["train", "--dataset", "images:photos"],
         ["ImageFolder: the class folder birds in photos holds no readable image"], 2),
        (39, ["predict", *run, "--input", "nan.npy"],
         ["--input nan.npy: the sample at index 1 holds NaN; predict needs finite real "
          "numbers"], 2),
        (39, ["predict", *run, "--input", "complex.csv"],
         ["--input complex.csv: line 2, column 1: '1+2j' is a complex number"], 2),
        (39, ["predict", *run, "--input", "objects.npy"], ["holds Python objects"], 2),
        (40, ["predict", *run, "--input", "fifo.npy"],
         ["--input fifo.npy is a FIFO (named pipe), not a regular file"], 2),
        (40, ["evaluate", "--checkpoint", "/dev/zero"],
         ["--checkpoint /dev/zero is a character device, not a regular file"], 2),
        (41, ["evaluate", "--checkpoint", "weights.safetensors"],
         ["weights.safetensors", "chainrule train --out"], 2),
        (41, ["export", "--checkpoint", "wide.safetensors", "--onnx", "m.onnx"],
         ["wide.safetensors: the model description does not fit the tensors stored in the "
          "file: model.1.weight: described (200000, 64), stored (3, 4)"], 2),
        (42, ["evaluate", *run, "--dataset", "toy_linear"],
         ["--dataset toy_linear has samples of shape (1,) but the model takes (2,)"], 2),
        (42, ["evaluate", *run, "--dataset", "spiral"],
         ["--dataset spiral has class 2 but the model has 2 outputs"], 2),
        (44, ["train", "--optimizer", "gd", "--batch-size", "8"],
         ["--batch-size 8 does not go with --optimizer gd: gradient descent takes the whole "
          "training set in every step", "use --optimizer sgd for mini-batches"], 2),
        (45, ["train", "--model", "linear", "--activation", "tanh"],
         ["--activation is for the hidden layers of --model mlp; --model linear has none"], 2),
        (46, ["evaluate", "--checkpoint", "gpt.safetensors"],
         ["gpt.safetensors holds a GPT (a text model), which evaluate, predict and export do "
          "not take", "sample from it with: chainrule generate --checkpoint gpt.safetensors"],
         2),
    ]


def test_28_to_46_command_line_errors_are_one_line_with_their_exit_code(tmp_path):
    pytest.importorskip("safetensors")
    from tests.cli.helpers import assert_user_error, run_many
    cases = _cli_cases(tmp_path)
    results = run_many([argv for _, argv, _, _ in cases], cwd=tmp_path)
    for (entry, argv, phrases, code), result in zip(cases, results):
        if entry is None:
            assert result.returncode == 0, result.stderr
            continue
        assert_user_error(result, *phrases, code=code)
    tested = {entry for entry, _, _, _ in cases} | {37, 43}
    documented = {int(row.split("|")[1]) for row in open(DOCS).read().split(
        "## The command line")[1].split("\n## ")[0].splitlines() if row.startswith("| ") and
        row.split("|")[1].strip().isdigit()}
    assert documented == tested - {None}


def _patched_cli(patch, *argv):
    code = ("import sys, chainrule\n" + patch +
            f"from chainrule.cli.main import main\nsys.exit(main({list(argv)!r}))\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)


def test_37_ctrl_c_says_what_was_saved():
    result = _patched_cli("def stop(*a, **k): raise KeyboardInterrupt\nchainrule.fit = stop\n",
                          "train", "--dataset", "moons")
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert result.stderr.startswith("chainrule train: interrupted: nothing was saved (no --out "
                                    "given)")


def test_43_a_bug_shows_its_traceback_with_exit_code_1():
    result = _patched_cli("def bug(*a, **k): raise ZeroDivisionError('oops')\n"
                          "chainrule.fit = bug\n", "train", "--dataset", "moons")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError: oops" in result.stderr
    assert result.stderr.strip().endswith("chainrule train: internal error (a bug in chainrule, "
                                          "not in your input): please report it with the "
                                          "traceback above")
