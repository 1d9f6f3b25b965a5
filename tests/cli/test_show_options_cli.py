"""The options of landscape / lr-find / compare-optimizers: every bad value is one line on
stderr naming the option, exit code 2, before any training or plotting starts."""
from tests.cli.helpers import assert_user_error, run_many

BAD = [
    (["landscape", "--epochs", "0"], ["--epochs", "at least 1"]),
    (["landscape", "--epochs", "1e9"], ["--epochs", "'1e9'"]),
    (["landscape", "--dataset", "cifar"], ["--dataset", "'cifar'"]),
    (["lr-find", "--seed", "-3"], ["--seed", "at least 0"]),
    (["lr-find", "--out", "plot.txt"], ["--out", ".png or .svg or .pdf"]),
    (["compare-optimizers", "--steps", "0"], ["--steps", "at least 1"]),
    (["compare-optimizers", "--steps", "10000000"], ["--steps", "at most 100000"]),
    (["compare-optimizers", "--problem", "everest"], ["'everest'", "rosenbrock"]),
    (["compare-optimizers", "--bogus"], ["chainrule compare-optimizers", "--bogus"]),
]


def test_bad_show_options_are_named(tmp_path):
    for (argv, culprits), result in zip(BAD, run_many([a for a, _ in BAD], cwd=tmp_path)):
        assert_user_error(result, *culprits)
    assert not list(tmp_path.iterdir())                 # nothing was written
