"""MLP: the multi-layer perceptron (dense layers with an activation between them)."""
from ..errors import ConfigError
from ..nn.activation import ACTIVATIONS
from ..nn.container import Sequential
from ..nn.dropout import Dropout
from ..nn.linear import Flatten, Linear
from ..nn.norm import BatchNorm1d


class MLP(Sequential):
    """Flatten -> [Linear -> (BatchNorm) -> activation -> (Dropout)] per hidden layer -> Linear.

    >>> import chainrule
    >>> model = MLP(64, (128, 128, 128), 10)
    >>> model(chainrule.zeros(2, 64)).shape
    (2, 10)
    """

    def __init__(self, in_features, hidden=(128, 128, 128), out_features=10, activation="relu",
                 dropout=0.0, batch_norm=False):
        if activation not in ACTIVATIONS:
            raise ConfigError(f"MLP: unknown activation {activation!r}; choose from "
                              f"{', '.join(ACTIVATIONS)}")
        layers = [Flatten()]
        width = in_features
        for size in hidden:
            layers.append(Linear(width, size))
            if batch_norm:
                layers.append(BatchNorm1d(size))
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(Dropout(dropout))
            width = size
        layers.append(Linear(width, out_features))
        super().__init__(*layers)
        self.config = dict(in_features=in_features, hidden=list(hidden),
                           out_features=out_features, activation=activation, dropout=dropout,
                           batch_norm=batch_norm)
