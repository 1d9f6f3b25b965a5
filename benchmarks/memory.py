"""memory: peak memory of one mlp_train step (tracemalloc for NumPy-backed chainrule, and the
RSS high-water mark of a fresh process for both chainrule and PyTorch).

    python benchmarks/memory.py [--quick]
"""
import json
import subprocess
import sys

STEP = r"""
import ctypes, json, resource, sys, tracemalloc
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
ctypes.CDLL("libc.so.6").malloc_trim(0)
with open("/proc/self/statm") as f:
    base_kb = int(f.read().split()[1]) * resource.getpagesize() / 1024
if which == "chainrule":
    tracemalloc.start()
run(1)                              # the first step: every array the step needs is allocated
peak = tracemalloc.get_traced_memory()[1] if which == "chainrule" else 0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tracemalloc_peak_kb": peak / 1024, "step_rss_kb": after - base_kb,
                  "rss_peak_kb": after}))
"""


def measure(which):
    out = subprocess.run([sys.executable, "-c", STEP, which], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(quick=False):
    print("memory: peak memory of one mlp_train step (784-256-256-256-10, batch 128): the rise "
          "of the process's RSS high-water mark over its RSS just before the step (after "
          "malloc_trim), in a fresh process per library")
    ours = measure("chainrule")
    print(f"  chainrule: step peak {ours['step_rss_kb'] / 1024:6.2f} MiB (tracemalloc peak "
          f"{ours['tracemalloc_peak_kb'] / 1024:.2f} MiB)")
    try:
        theirs = measure("torch")
    except subprocess.CalledProcessError:
        print("  pytorch: not installed")
        return ours, None
    print(f"  pytorch:   step peak {theirs['step_rss_kb'] / 1024:6.2f} MiB")
    print(f"  ratio chainrule/pytorch peak: "
          f"{ours['step_rss_kb'] / max(theirs['step_rss_kb'], 1):.2f} (bar: <= 1.3)")
    return ours, theirs


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
