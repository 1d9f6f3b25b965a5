"""TensorBoard events written by the callback read back with the right tags and steps."""
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import datasets

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_events_read_back(tmp_path):
    split = datasets.iris()
    model = chainrule.models.MLP(4, (8,), 3)
    history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                            split.train, val_data=split.test, epochs=3, batch_size=40,
                            callbacks=[chainrule.io.TensorBoardLogger(str(tmp_path))])
    acc = event_accumulator.EventAccumulator(str(tmp_path),
                                             size_guidance={"histograms": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"train/loss_step", "train/loss", "train/accuracy", "val/loss", "val/accuracy",
            "lr"} <= set(tags["scalars"])
    assert len(acc.Scalars("train/loss_step")) == len(history.steps) == 9
    assert [e.step for e in acc.Scalars("val/accuracy")] == [1, 2, 3]
    assert acc.Scalars("train/loss")[-1].value == pytest.approx(history.epochs[-1]["loss"])
    assert "weights/1.weight" in tags["histograms"] and "grads/1.weight" in tags["histograms"]
