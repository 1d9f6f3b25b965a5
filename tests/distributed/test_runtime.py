"""The runtime's options in a world of one (no mpiexec needed)."""
import datetime

import pytest

import chainrule
from chainrule import distributed as dist
from chainrule.distributed.liveness import timeout_seconds
from chainrule.errors import ArgumentError, ConfigError


def test_the_collective_timeout_defaults_to_ten_minutes_and_can_be_set(monkeypatch):
    monkeypatch.delenv("CHAINRULE_DISTRIBUTED_TIMEOUT", raising=False)
    assert timeout_seconds() == 600.0
    assert timeout_seconds(datetime.timedelta(seconds=90)) == 90.0
    monkeypatch.setenv("CHAINRULE_DISTRIBUTED_TIMEOUT", "45")
    assert timeout_seconds() == 45.0
    assert timeout_seconds(5) == 5.0                 # the argument wins over the variable


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "soon"])
def test_a_bad_timeout_is_refused_naming_where_it_came_from(monkeypatch, value):
    with pytest.raises(ArgumentError, match=r"init\(timeout=...\): the collective timeout "
                                            r"must be a positive number of seconds"):
        timeout_seconds(value)
    monkeypatch.setenv("CHAINRULE_DISTRIBUTED_TIMEOUT", str(value))
    with pytest.raises(ConfigError, match="CHAINRULE_DISTRIBUTED_TIMEOUT"):
        timeout_seconds()


def test_ddp_in_a_world_of_one_counts_nothing_and_checks_its_bucket_size():
    model = dist.DistributedDataParallel(chainrule.nn.Linear(3, 2))
    model(chainrule.ones(4, 3)).sum().backward()
    model.synchronize()
    assert model.stats()["allreduce_calls"] == 0 and model.stats()["buckets"] == 0
    with pytest.raises(ArgumentError, match="bucket_cap_mb must be positive"):
        dist.DistributedDataParallel(chainrule.nn.Linear(3, 2), bucket_cap_mb=0)


def test_abort_in_a_world_of_one_is_an_exit():
    with pytest.raises(SystemExit) as raised:
        dist.abort(4)
    assert raised.value.code == 4
