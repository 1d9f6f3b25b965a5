"""LeNet-5: two convolution + pooling stages, then three dense layers (LeCun et al., 1998)."""
from ..autograd.grad_mode import no_grad
from ..creation import zeros
from ..nn.activation import ReLU
from ..nn.container import Sequential
from ..nn.conv import Conv2d, MaxPool2d
from ..nn.linear import Flatten, Linear


class LeNet5(Sequential):
    """LeNet-5 for (N, in_channels, size, size) images; small inputs are zero-padded so that
    28x28 (and even 8x8) images keep the classic layer sizes.

    >>> import chainrule
    >>> LeNet5(1, 10, image_size=28)(chainrule.zeros(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, in_channels=1, num_classes=10, image_size=32):
        pad1 = 2 if image_size < 32 else 0
        pad2 = 2 if image_size < 16 else 0
        features = [Conv2d(in_channels, 6, 5, padding=pad1), ReLU(), MaxPool2d(2),
                    Conv2d(6, 16, 5, padding=pad2), ReLU(), MaxPool2d(2), Flatten()]
        with no_grad():
            flat = Sequential(*features)(zeros(1, in_channels, image_size, image_size)).shape[1]
        super().__init__(*features, Linear(flat, 120), ReLU(), Linear(120, 84), ReLU(),
                         Linear(84, num_classes))
        self.config = dict(in_channels=in_channels, num_classes=num_classes,
                           image_size=image_size)
