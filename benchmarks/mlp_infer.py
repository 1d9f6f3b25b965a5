"""mlp_infer: the mlp_train model, forward only under no_grad, batch 1 and batch 1024:
microseconds per forward for chainrule, PyTorch and a NumPy bound (bars: batch 1024 >= 1.0x
PyTorch's speed; batch 1 within 2x).

Before timing, the three must give the same outputs from the same weights (float32 and
float64). Each contender is then timed in its own process, taking turns round after
round; ratios are per round, medians are printed.

    python benchmarks/mlp_infer.py [--quick] [--rounds N]
"""
import sys

import numpy as np

from _common import disagreements as over_tolerance
from _common import (blas_report, isolated, median_time, options, print_agreement,
                     relative_difference, report_rounds, rounds_of, torch_or_none, where)
from mlp_train import SIZES, chainrule_model, init_weights, torch_model

BATCHES = (1, 1024)
BARS = {1: 0.5, 1024: 1.0}
TOLERANCE = {"output_float32": 1e-5, "output_float64": 1e-12, "numpy_output_float32": 1e-5,
             "numpy_output_float64": 1e-12}


def inputs(batch, dtype=np.float32):
    return np.random.default_rng(0).standard_normal((batch, 784)).astype(dtype)


def numpy_forward(dtype=np.float32, batch=1024):
    """The NumPy bound: the same forward with preallocated buffers, written in place (ReLU
    against an array of zeros: NumPy's float32 maximum against the scalar 0 is 3x slower)."""
    params = init_weights(dtype=dtype)
    buffers = [np.empty((batch, s), dtype) for s in SIZES[1:]]
    zeros = [np.zeros((batch, s), dtype) for s in SIZES[1:]]

    def forward(x):
        for i, (w, b) in enumerate(params):
            np.matmul(x, w.T, out=buffers[i])
            buffers[i] += b
            if i < len(params) - 1:
                np.maximum(zeros[i], buffers[i], out=buffers[i])
            x = buffers[i]
        return x
    return forward


def cross_check(perturb=0.0):
    """Relative differences of chainrule's outputs from PyTorch's and the bound's (batch 64;
    ``perturb`` nudges PyTorch's weights)."""
    import chainrule
    torch = torch_or_none(threads=1)
    report = {}
    for dtype in (np.float32, np.float64):
        name, x = np.dtype(dtype).name, inputs(64, dtype)
        with chainrule.no_grad():
            ours = chainrule_model(dtype).eval()(chainrule.tensor(x)).numpy()
        with torch.no_grad():
            theirs = torch_model(torch, dtype, perturb).eval()(torch.from_numpy(x)).numpy()
        report[f"output_{name}"] = relative_difference(ours, theirs)
        report[f"numpy_output_{name}"] = relative_difference(ours, numpy_forward(dtype, 64)(x))
    return report


def disagreements(report):
    """The checks of a cross-check report over their tolerance."""
    return over_tolerance(report, TOLERANCE)


def us_per_forward(which, quick):
    """{batch: median µs per forward} for one contender, in this process."""
    result = {}
    for batch in BATCHES:
        x = inputs(batch)
        calls = (200 if batch == 1 else 10) // (4 if quick else 1)
        if which == "chainrule":
            import chainrule
            model, xt = chainrule_model().eval(), chainrule.tensor(x)

            def run():
                with chainrule.no_grad():
                    for _ in range(calls):
                        model(xt)
        elif which == "pytorch":
            torch = torch_or_none()
            if torch is None:
                return None
            model, xt = torch_model(torch).eval(), torch.from_numpy(x)

            def run():
                with torch.no_grad():
                    for _ in range(calls):
                        model(xt)
        else:
            forward = numpy_forward(batch=batch)

            def run():
                for _ in range(calls):
                    forward(x)
        result[str(batch)] = median_time(run, 3 if quick else 7) / calls * 1e6
    return result


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 7)
    print("mlp_infer: 784-256-256-256-10 forward under no_grad; " + where(rounds))
    print(blas_report())
    ok = True
    if torch_or_none() is not None:
        ok = print_agreement("outputs", isolated("mlp_infer", "cross_check", threads=1),
                             TOLERANCE)
    results = rounds_of("mlp_infer", "us_per_forward", ("chainrule", "pytorch", "numpy"),
                        (quick,), rounds, threads)
    for batch in BATCHES:
        per_round = {k: [1e6 / r[str(batch)] for r in v] for k, v in results.items()}
        report_rounds("mlp_infer", f"batch {batch} forwards/s", per_round, "fwd/s",
                      higher_is_better=True, bar=BARS[batch], also=("numpy",))
    if not ok:
        print("mlp_infer: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
