"""The ecosystem's formats: safetensors checkpoints, PyTorch checkpoints (read safely), ONNX
export, TensorBoard logs."""
from . import onnx  # noqa: F401
from .tensorboard import TensorBoardLogger  # noqa: F401
from .checkpoint import (checkpoints_in, load, load_checkpoint, save,  # noqa: F401
                         save_checkpoint)
from .torch_format import load_torch  # noqa: F401
