"""A small ResNet: basic residual blocks (two 3x3 convolutions plus a shortcut)."""
from ..nn.activation import ReLU
from ..nn.container import Sequential
from ..nn.conv import AdaptiveAvgPool2d, Conv2d
from ..nn.linear import Flatten, Linear
from ..nn.module import Module
from ..nn.norm import BatchNorm2d
from ..ops import relu


class BasicBlock(Module):
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)); the shortcut is a 1x1 convolution
    when the shape changes."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                       BatchNorm2d(out_channels))

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(Sequential):
    """A stem, ``len(blocks)`` stages of basic blocks (width doubling, stride 2 between
    stages), global average pooling and a linear classifier.

    >>> import chainrule
    >>> ResNet(3, 4, blocks=(1, 1), width=8)(chainrule.zeros(2, 3, 16, 16)).shape
    (2, 4)
    """

    def __init__(self, in_channels=3, num_classes=10, blocks=(2, 2, 2), width=16):
        layers = [Conv2d(in_channels, width, 3, 1, 1, bias=False), BatchNorm2d(width), ReLU()]
        channels = width
        for stage, count in enumerate(blocks):
            out = width * 2 ** stage
            for i in range(count):
                layers.append(BasicBlock(channels, out, 2 if stage and i == 0 else 1))
                channels = out
        layers += [AdaptiveAvgPool2d(1), Flatten(), Linear(channels, num_classes)]
        super().__init__(*layers)
        self.config = dict(in_channels=in_channels, num_classes=num_classes,
                           blocks=list(blocks), width=width)
