"""Neural-network building blocks: Module, layers, losses, init, functional, utils."""
from . import functional, init, utils  # noqa: F401
from .activation import (ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU,  # noqa: F401
                         Softmax, Softplus, Tanh)
from .attention import MultiheadAttention  # noqa: F401
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import (AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d,  # noqa: F401
                   Dropout2d, MaxPool2d, Upsample)
from .dropout import Dropout  # noqa: F401
from .linear import Embedding, Flatten, Identity, Linear  # noqa: F401
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss,  # noqa
                   MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module  # noqa: F401
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .rmsnorm import RMSNorm  # noqa: F401
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa
                          TransformerEncoder, TransformerEncoderLayer)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa
