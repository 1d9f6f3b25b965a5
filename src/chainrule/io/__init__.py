"""The ecosystem's formats: safetensors checkpoints, ONNX export, TensorBoard logs."""
from . import onnx  # noqa: F401
from .tensorboard import TensorBoardLogger  # noqa: F401
from .checkpoint import (ModelCheckpoint, checkpoints_in, load, load_checkpoint,  # noqa: F401
                         save, save_checkpoint)
