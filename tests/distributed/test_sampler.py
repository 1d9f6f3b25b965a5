"""DistributedSampler: disjoint shards covering every sample, reshuffled, consistently padded."""
from chainrule.distributed import DistributedSampler


def _shards(n, world, epoch=0, shuffle=True):
    shards = []
    for rank in range(world):
        sampler = DistributedSampler(n, num_replicas=world, rank=rank, shuffle=shuffle, seed=3)
        sampler.set_epoch(epoch)
        shards.append(list(sampler))
    return shards


def test_every_sample_exactly_once_per_epoch_when_divisible():
    shards = _shards(12, 3)
    assert sorted(i for s in shards for i in s) == list(range(12))
    assert all(len(s) == 4 for s in shards)


def test_padding_gives_every_rank_the_same_count():
    shards = _shards(10, 4)
    assert [len(s) for s in shards] == [3, 3, 3, 3]
    flat = [i for s in shards for i in s]
    assert set(flat) == set(range(10)) and len(flat) == 12
    assert _shards(10, 4) == shards                      # consistent on every call


def test_reshuffles_between_epochs_but_not_within():
    assert _shards(20, 2, epoch=0) != _shards(20, 2, epoch=1)
    assert _shards(20, 2, epoch=1) == _shards(20, 2, epoch=1)
    assert _shards(6, 2, shuffle=False) == [[0, 2, 4], [1, 3, 5]]


def test_drop_last():
    sampler = DistributedSampler(10, num_replicas=4, rank=0, drop_last=True)
    assert len(list(sampler)) == len(sampler) == 2
