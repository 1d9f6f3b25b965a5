"""Reproducibility by contract: same seed, bit-identical results, in one process and across two."""
import subprocess
import sys

import numpy as np

import chainrule

SCRIPT = """
import sys, chainrule
from chainrule import nn, optim
from chainrule.data import datasets
chainrule.manual_seed(11)
split = datasets.digits()
model = chainrule.models.MLP(64, (32, 32), 10, dropout=0.2)
history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                        split.train, epochs=2)
sys.stdout.write(history.to_csv(table="steps") + history.to_csv())
sys.stdout.write(repr([p.numpy().tobytes().hex()[:64] for p in model.parameters()]))
"""


def test_two_processes_with_the_same_seed_write_identical_history():
    runs = [subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                           timeout=300, check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 1000


def test_chainrule_randomness_does_not_touch_numpy_or_python_global_state():
    import random
    np_state = np.random.get_state()[1].copy()
    py_state = random.getstate()
    chainrule.manual_seed(3)
    chainrule.randn(10)
    chainrule.nn.Dropout(0.5)(chainrule.ones(10))
    chainrule.nn.Linear(4, 4)
    list(chainrule.data.DataLoader(chainrule.data.TensorDataset(np.arange(10)), batch_size=3,
                                   shuffle=True))
    assert (np.random.get_state()[1] == np_state).all()
    assert random.getstate() == py_state


def test_generator_objects_give_independent_reproducible_streams():
    g1, g2 = chainrule.Generator(5), chainrule.Generator(5)
    drop = chainrule.nn.Dropout(0.5, generator=g1)
    a = drop(chainrule.ones(100)).numpy()
    b = chainrule.nn.Dropout(0.5, generator=g2)(chainrule.ones(100)).numpy()
    assert (a == b).all()
    state = g1.get_state()
    c = drop(chainrule.ones(100)).numpy()
    g1.set_state(state)
    assert (drop(chainrule.ones(100)).numpy() == c).all()
