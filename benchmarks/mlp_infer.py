"""mlp_infer: the mlp_train model, forward only under no_grad, batch 1 and batch 1024.

    python benchmarks/mlp_infer.py [--quick]
"""
import sys

import numpy as np

from _common import blas_report, median_time, ratio, torch_or_none
from mlp_train import SIZES, init_weights


def chainrule_model():
    from chainrule import nn
    layers = []
    for w, b in init_weights():
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight._data[...], linear.bias._data[...] = w, b
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1]).eval()


def main(quick=False):
    import chainrule
    torch = torch_or_none()
    params = init_weights()
    print("mlp_infer: 784-256-256-256-10 forward under no_grad")
    print(blas_report())
    model = chainrule_model()
    if torch is not None:
        tmodel = torch.nn.Sequential(*sum([[torch.nn.Linear(i, o), torch.nn.ReLU()]
                                           for i, o in zip(SIZES[:-1], SIZES[1:])], [])[:-1])
        with torch.no_grad():
            for layer, (w, b) in zip([m for m in tmodel if hasattr(m, "weight")], params):
                layer.weight.copy_(torch.from_numpy(w))
                layer.bias.copy_(torch.from_numpy(b))
    results = {}
    for batch in (1, 1024):
        x = np.random.default_rng(0).standard_normal((batch, 784)).astype(np.float32)
        calls = (200 if batch == 1 else 10) // (4 if quick else 1)
        xt = chainrule.tensor(x)
        buffers = [np.empty((batch, s), np.float32) for s in SIZES]

        def ours():
            with chainrule.no_grad():
                for _ in range(calls):
                    model(xt)

        def lower_bound():
            for _ in range(calls):
                buffers[0][...] = x
                for i, (w, b) in enumerate(params):
                    np.matmul(buffers[i], w.T, out=buffers[i + 1])
                    buffers[i + 1] += b
                    if i < len(params) - 1:
                        np.maximum(buffers[i + 1], 0, out=buffers[i + 1])
        row = {"chainrule": median_time(ours, 5) / calls * 1e6,
               "numpy": median_time(lower_bound, 5) / calls * 1e6}
        if torch is not None:
            tx = torch.from_numpy(x)

            def theirs():
                with torch.no_grad():
                    for _ in range(calls):
                        tmodel(tx)
            row["pytorch"] = median_time(theirs, 5) / calls * 1e6
        results[batch] = row
        print(f"  batch {batch}: " + "  ".join(f"{k} {v:.1f} us" for k, v in row.items()))
        if "pytorch" in row:
            bar = ">= 1.0" if batch == 1024 else ">= 0.5 (within 2x)"
            print(f"    speed ratio chainrule/pytorch: {ratio(row['pytorch'], row['chainrule']):.2f}"
                  f" (bar: {bar})")
        print(f"    speed ratio chainrule/numpy:   {ratio(row['numpy'], row['chainrule']):.2f}")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
