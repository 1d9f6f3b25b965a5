"""fit(checkpoint_dir=...) removes the temp files that killed checkpoint writes left there,
when training starts (not only when it writes its first checkpoint)."""
import numpy as np
import pytest

import chainrule
from chainrule import nn, optim


class _StopAtOnce(chainrule.train.Callback):
    def on_epoch_begin(self, trainer, epoch):
        raise KeyboardInterrupt


def test_fit_with_a_checkpoint_dir_removes_stale_temp_files_at_the_start(tmp_path):
    stale = tmp_path / ".tmp-killed.safetensors"
    stale.write_bytes(b"half a checkpoint")
    other = tmp_path / "notes.txt"
    other.write_text("not a temp file")
    model = nn.Linear(2, 1)
    data = (np.ones((4, 2), np.float32), np.ones((4, 1), np.float32))
    with pytest.raises(KeyboardInterrupt):            # before any checkpoint is written
        chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), data,
                      epochs=1, metrics=(), checkpoint_dir=str(tmp_path),
                      callbacks=[_StopAtOnce()])
    assert not stale.exists() and other.exists()
    assert not list(tmp_path.glob("epoch-*"))
