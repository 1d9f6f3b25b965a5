"""DataLoader with worker processes, samplers, collation and chainrule.utils.data's API.

Worker tests use tiny datasets; every loader that starts processes is checked to leave none
behind. Samplers, collation, iterable-dataset interleaving and argument checks are compared
with torch.utils.data where the outcome does not depend on the random stream.
"""
import collections
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import chainrule
from chainrule.errors import ArgumentError, ChainruleError
from chainrule.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader,
                                  Dataset, IterableDataset, RandomSampler, SequentialSampler,
                                  Subset, SubsetRandomSampler, TensorDataset,
                                  WeightedRandomSampler, default_collate, get_worker_info,
                                  random_split)
from chainrule.data import WorkerError


@pytest.fixture
def torch_data():
    pytest.importorskip("torch")
    import torch.utils.data
    return torch.utils.data


@pytest.fixture(autouse=True)
def no_leftover_processes():
    yield
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


def _plain(batch):
    """A batch as nested Python values with array dtypes, to compare exactly."""
    if isinstance(batch, chainrule.Tensor):
        return ("tensor", str(batch.dtype), batch.tolist())
    if hasattr(batch, "numpy") and not isinstance(batch, np.ndarray):     # torch
        return ("tensor", str(batch.numpy().dtype), batch.tolist())
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [_plain(v) for v in batch])
    return batch


class Records(Dataset):
    """Samples of several kinds at once: arrays, numbers, strings, a dict, a tuple."""

    def __len__(self):
        return 23

    def __getitem__(self, i):
        return {"image": np.full((2, 3), i, np.float32), "label": i % 3, "weight": i / 4,
                "name": f"s{i}", "pair": (np.int16(i), np.arange(i, i + 2))}


class Failing(Dataset):
    def __init__(self, bad, how="raise"):
        self.bad, self.how = bad, how

    def __len__(self):
        return 16

    def __getitem__(self, i):
        if i == self.bad:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "sleep":
                time.sleep(30)
            raise ValueError(f"sample {i} is broken")
        return np.float32(i)


# ---------------------------------------------------------------- same batches, any workers

@pytest.mark.parametrize("dataset", [Records(), TensorDataset(np.arange(46.).reshape(23, 2),
                                                              np.arange(23))],
                         ids=["records", "tensors"])
def test_identical_batches_for_0_1_and_2_workers(dataset):
    def epochs(num_workers):
        loader = DataLoader(dataset, batch_size=4, shuffle=True, num_workers=num_workers,
                            generator=chainrule.Generator(7))
        return [[_plain(b) for b in loader] for _ in range(2)]
    expected = epochs(0)
    assert expected[0] != expected[1]                   # reshuffled per epoch
    assert epochs(1) == expected
    assert epochs(2) == expected


def test_resume_from_state_dict_with_workers_gives_the_uninterrupted_order():
    dataset = TensorDataset(np.arange(12))
    loader = DataLoader(dataset, batch_size=5, shuffle=True, num_workers=2,
                        generator=chainrule.Generator(3))
    list(loader)
    state = loader.state_dict()
    expected = [b[0].tolist() for b in loader]
    fresh = DataLoader(dataset, batch_size=5, shuffle=True, num_workers=2,
                       generator=chainrule.Generator(99))
    fresh.load_state_dict(state)
    assert [b[0].tolist() for b in fresh] == expected
    assert [b[0].tolist() for b in DataLoader(dataset, batch_size=5, shuffle=True,
                                              generator=chainrule.Generator(3))] != expected


class Augmented(Dataset):
    """A random draw per sample from chainrule's generator, plus who drew it."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return (chainrule.rand(1).item(), -1 if info is None else info.id,
                -1 if info is None else info.seed, os.getpid())


def test_worker_seeds_are_base_seed_plus_worker_id_and_repeat_for_a_seed():
    def run():
        loader = DataLoader(Augmented(), batch_size=2, num_workers=2,
                            generator=chainrule.Generator(11))
        return [b for b in loader]
    first, second = run(), run()
    values = [b[0].tolist() for b in first]
    assert values == [b[0].tolist() for b in second]          # same seed, same draws
    workers = [b[1].tolist() for b in first]
    assert workers == [[0, 0], [1, 1], [0, 0], [1, 1]]        # round-robin, as PyTorch
    seeds = {w[0]: s.tolist()[0] for w, s in zip(workers, (b[2] for b in first))}
    assert seeds[1] == seeds[0] + 1
    assert values[0] != values[1]                             # each worker its own stream
    assert get_worker_info() is None


def test_persistent_workers_serve_every_epoch_and_stop_with_the_loader():
    loader = DataLoader(Augmented(), batch_size=4, num_workers=2, persistent_workers=True)
    pids = [{int(p) for b in loader for p in b[3].tolist()} for _ in range(3)]
    assert pids[0] == pids[1] == pids[2] and len(pids[0]) == 2
    assert len(multiprocessing.active_children()) == 2
    del loader                                  # the autouse fixture checks they are gone


def test_worker_init_fn_runs_in_each_worker_and_its_errors_are_reported():
    def init(worker_id):
        np.random.seed(100 + worker_id)
    batches = list(DataLoader(Augmented(), batch_size=4, num_workers=2, worker_init_fn=init))
    assert len(batches) == 2

    def broken(worker_id):
        raise RuntimeError("no config")
    with pytest.raises(RuntimeError, match="in worker_init_fn"):
        list(DataLoader(Augmented(), batch_size=4, num_workers=2, worker_init_fn=broken))


# ---------------------------------------------------------------- failures and shutdown

def test_an_exception_in_a_worker_is_reraised_naming_the_sample():
    with pytest.raises(ValueError, match=r"(?s)worker 1 while loading sample 7 \(batch 3\)"
                                         r".*sample 7 is broken"):
        list(DataLoader(Failing(7), batch_size=2, num_workers=2))


def test_an_exception_type_the_main_process_cannot_rebuild_is_a_worker_error():
    class Odd(Exception):       # local: cannot be pickled back to the main process
        pass

    class Dataset_(Failing):
        def __getitem__(self, i):
            raise Odd("odd")
    with pytest.raises(WorkerError, match="Caught Odd in DataLoader worker 0"):
        list(DataLoader(Dataset_(0), batch_size=2, num_workers=1))


def test_a_worker_killed_by_a_signal_is_reported_not_hung():
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker 1 \(pid \d+\) was killed by signal SIGKILL"):
        list(DataLoader(Failing(3, "kill"), batch_size=1, num_workers=2))
    assert time.monotonic() - start < 10


def test_timeout_is_an_error_naming_the_batch():
    with pytest.raises(WorkerError, match="timed out after 0.5 seconds waiting for batch 1"):
        list(DataLoader(Failing(1, "sleep"), batch_size=1, num_workers=1, timeout=0.5))


@pytest.mark.parametrize("stop", ["break", "error", "ctrl-c"])
def test_no_worker_survives_a_loop_that_stops_early(stop):
    loader = DataLoader(Failing(99), batch_size=1, num_workers=2)
    with pytest.raises((KeyboardInterrupt, ZeroDivisionError)) if stop != "break" else \
            _nothing():
        for _ in loader:
            if stop == "break":
                break
            if stop == "error":
                1 / 0
            raise KeyboardInterrupt
    assert multiprocessing.active_children() == []


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _processes_in_group(group):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == group:
                found.append(int(pid))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_ctrl_c_in_a_terminal_stops_the_main_process_and_every_worker(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        import numpy as np
        from chainrule.utils.data import DataLoader, Dataset
        class Slow(Dataset):
            def __len__(self): return 1000
            def __getitem__(self, i):
                time.sleep(0.05)
                return np.float32(i)
        try:
            for i, batch in enumerate(DataLoader(Slow(), batch_size=2, num_workers=2)):
                if i == 1:
                    print("running", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    """))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert process.stdout.readline().strip() == "running"
        assert len(_processes_in_group(process.pid)) == 3     # main and two workers
        os.killpg(process.pid, signal.SIGINT)                 # what Ctrl-C does
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130 and "interrupted" in out
    assert "Traceback" not in err                             # workers exit quietly
    deadline = time.monotonic() + 5
    while _processes_in_group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_in_group(process.pid) == []


@pytest.mark.slow
def test_spawn_context_gives_the_same_batches():
    dataset = TensorDataset(np.arange(10))
    batches = [b[0].tolist() for b in DataLoader(dataset, batch_size=3, shuffle=True,
                                                 num_workers=2, multiprocessing_context="spawn",
                                                 generator=chainrule.Generator(1))]
    assert batches == [b[0].tolist() for b in DataLoader(dataset, batch_size=3, shuffle=True,
                                                         generator=chainrule.Generator(1))]


# ---------------------------------------------------------------- iterable datasets

class Shards(IterableDataset):
    """Worker i yields its own run of items (of different lengths), as a sharded stream."""

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(10))
        return iter(range(info.id * 100, info.id * 100 + (3 if info.id == 0 else 7)))


@pytest.mark.parametrize("options", [dict(batch_size=2), dict(batch_size=2, drop_last=True),
                                     dict(batch_size=None, prefetch_factor=1)])
def test_iterable_dataset_batches_interleave_as_in_pytorch(torch_data, options):
    class TorchShards(torch_data.IterableDataset):
        def __iter__(self):
            info = torch_data.get_worker_info()
            return iter(range(info.id * 100, info.id * 100 + (3 if info.id == 0 else 7)))
    ours = [_plain(b) for b in DataLoader(Shards(), num_workers=2, **options)]
    theirs = [_plain(b) for b in torch_data.DataLoader(TorchShards(), num_workers=2, **options)]
    assert ours == theirs


def test_iterable_dataset_in_the_main_process_and_chained():
    assert [b.tolist() for b in DataLoader(Shards(), batch_size=4)] == \
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(ChainDataset([Shards(), Shards()]))[9:11] == [9, 0]
    with pytest.raises(ArgumentError, match="expected unspecified shuffle option"):
        DataLoader(Shards(), shuffle=True)


# ---------------------------------------------------------------- PyTorch's semantics

def test_default_collate_matches_pytorch(torch_data):
    Point = collections.namedtuple("Point", "x y")
    cases = [
        [(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)],
        [{"a": 1.5, "b": [True, 2]}, {"a": 2.5, "b": [False, 3]}],
        [Point(1, np.int8(2)), Point(3, np.int8(4))],
        [["x", 1], ["y", 2]],
        [np.float64(1.0), np.float64(2.0)],
    ]
    for samples in cases:
        ours = default_collate(samples)
        theirs = torch_data.default_collate(samples)
        assert _plain(ours) == _plain(theirs), samples     # kinds, dtypes and values
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (1, False), (10, True)])
def test_sequential_and_batch_samplers_match_pytorch(torch_data, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(10)), batch_size, drop_last)
    theirs = torch_data.BatchSampler(torch_data.SequentialSampler(range(10)), batch_size,
                                     drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(BatchSampler(iter(range(10)), batch_size, drop_last)) == list(theirs)
    assert len(DataLoader(TensorDataset(np.arange(10)), batch_size=batch_size,
                          drop_last=drop_last)) == \
        len(torch_data.DataLoader(range(10), batch_size=batch_size, drop_last=drop_last))


def test_random_samplers_have_pytorch_semantics(torch_data):
    for replacement, num_samples in [(False, None), (False, 25), (True, 7), (True, 70)]:
        ours = list(RandomSampler(range(10), replacement, num_samples))
        theirs = list(torch_data.RandomSampler(range(10), replacement, num_samples))
        assert len(ours) == len(theirs)
        if not replacement:    # whole permutations, then part of one
            assert sorted(ours[:10]) == sorted(theirs[:10]) == list(range(10))
        assert set(ours) <= set(range(10))
    assert sorted(SubsetRandomSampler([5, 1, 9])) == [1, 5, 9]
    drawn = list(WeightedRandomSampler([0, 3, 0, 1], 200))
    assert set(drawn) == {1, 3} and drawn.count(1) > drawn.count(3)
    assert sorted(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False)) == [0, 1, 2]
    a = list(RandomSampler(range(20), generator=chainrule.Generator(4)))
    assert a == list(RandomSampler(range(20), generator=chainrule.Generator(4)))


@pytest.mark.parametrize("make", [
    lambda d: d.RandomSampler(range(3), replacement=1),
    lambda d: d.RandomSampler(range(3), num_samples=0),
    lambda d: d.WeightedRandomSampler([[1.0]], 2),
    lambda d: d.WeightedRandomSampler([1.0], 0),
    lambda d: d.BatchSampler(range(3), 0, False),
    lambda d: d.BatchSampler(range(3), 2, None),
    lambda d: d.DataLoader(range(4), num_workers=-1),
    lambda d: d.DataLoader(range(4), prefetch_factor=2),
    lambda d: d.DataLoader(range(4), persistent_workers=True),
    lambda d: d.DataLoader(range(4), shuffle=True, sampler=[0, 1]),
    lambda d: d.DataLoader(range(4), batch_size=2, batch_sampler=[[0, 1]]),
    lambda d: d.DataLoader(range(4), batch_size=None, drop_last=True),
    lambda d: d.DataLoader(range(4), timeout=-1),
])
def test_bad_arguments_are_the_errors_pytorch_raises(torch_data, make):
    with pytest.raises((ValueError, TypeError)) as theirs:
        make(torch_data)
    kind = TypeError if isinstance(theirs.value, TypeError) else ValueError
    with pytest.raises(kind) as ours:
        make(sys.modules["chainrule.utils.data"])
    assert isinstance(ours.value, ChainruleError)


def test_samplers_batch_samplers_and_no_batching_in_the_loader():
    dataset = TensorDataset(np.arange(6))
    by_sampler = DataLoader(dataset, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [b[0].tolist() for b in by_sampler] == [[5, 4], [3, 2], [1, 0]]
    by_batches = DataLoader(dataset, batch_sampler=[[0, 5], [1]], num_workers=1)
    assert [b[0].tolist() for b in by_batches] == [[0, 5], [1]]
    single = DataLoader(dataset, batch_size=None, num_workers=2)
    assert [s[0].item() for s in single] == list(range(6)) and len(single) == 6
    unordered = DataLoader(dataset, batch_size=1, num_workers=2, in_order=False)
    assert sorted(b[0].item() for b in unordered) == list(range(6))
    assert DataLoader(dataset, pin_memory=True).pin_memory


def test_concat_subset_and_random_split_match_pytorch(torch_data):
    parts = [list(range(3)), list(range(10, 14))]
    ours, theirs = ConcatDataset(parts), torch_data.ConcatDataset(parts)
    assert [ours[i] for i in range(-7, 7)] == [theirs[i] for i in range(-7, 7)]
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert Subset(ours, [6, 0])[0] == torch_data.Subset(theirs, [6, 0])[0]
    assert [len(s) for s in random_split(range(10), [0.34, 0.33, 0.33])] == \
        [len(s) for s in torch_data.random_split(range(10), [0.34, 0.33, 0.33])]
