"""Ready-made models: MLP, LeNet5, a small ResNet and a small GPT."""
from .gpt import GPT  # noqa: F401
from .lenet import LeNet5  # noqa: F401
from .mlp import MLP  # noqa: F401
from .resnet import BasicBlock, ResNet  # noqa: F401

#: names accepted by ``chainrule train --model``
MODELS = {"mlp": MLP, "lenet": LeNet5, "resnet": ResNet}
