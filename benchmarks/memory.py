"""memory: peak memory of one mlp_train step (tracemalloc for NumPy-backed chainrule, and the
RSS high-water mark of a fresh process for both chainrule and PyTorch).

    python benchmarks/memory.py [--quick]
"""
import json
import subprocess
import sys

STEP = r"""
import json, resource, sys, tracemalloc
sys.path.insert(0, "benchmarks")
from mlp_train import data, chainrule_trainer, torch_trainer
x, y = data(1024)
which = sys.argv[1]
if which == "chainrule":
    run = chainrule_trainer(x, y)
else:
    import torch
    torch.set_num_threads(2)
    run = torch_trainer(torch, x, y)
run(2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
run(1)
_, peak = tracemalloc.get_traced_memory()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tracemalloc_peak_kb": peak / 1024, "rss_growth_kb": after - before,
                  "rss_peak_kb": after}))
"""


def measure(which):
    out = subprocess.run([sys.executable, "-c", STEP, which], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(quick=False):
    print("memory: one mlp_train step (784-256-256-256-10, batch 128)")
    ours = measure("chainrule")
    print(f"  chainrule: tracemalloc peak {ours['tracemalloc_peak_kb']:.0f} KiB, RSS peak "
          f"{ours['rss_peak_kb'] / 1024:.1f} MiB")
    try:
        theirs = measure("torch")
    except subprocess.CalledProcessError:
        print("  pytorch: not installed")
        return ours, None
    print(f"  pytorch:   RSS peak {theirs['rss_peak_kb'] / 1024:.1f} MiB (its allocations are "
          "invisible to tracemalloc)")
    step_bytes = ours["tracemalloc_peak_kb"]
    # PyTorch's per-step working set: activations + gradients, the same arrays chainrule keeps
    floats = 128 * (784 + 3 * 256 + 10) * 2 + (784 * 256 + 2 * 256 * 256 + 256 * 10) * 1
    print(f"  chainrule step peak / the step's own tensors (activations, gradients): "
          f"{step_bytes * 1024 / (floats * 4):.2f}")
    return ours, theirs


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
