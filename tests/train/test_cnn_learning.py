"""LeNet beats an MLP of equal parameter count on the shapes task (small, fast run)."""
import chainrule
from chainrule import nn, optim
from chainrule.data import datasets


def _accuracy(model, split, epochs):
    chainrule.manual_seed(0)
    history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(),
                                                                     lr=2e-3),
                            split.train, val_data=split.test, epochs=epochs, batch_size=64)
    return history.epochs[-1]["val_accuracy"]


def test_lenet_beats_an_mlp_with_the_same_number_of_parameters():
    split = datasets.load("shapes", n=3000, seed=1)
    chainrule.manual_seed(0)
    lenet = chainrule.models.LeNet5(3, 4, 32)
    mlp = chainrule.models.MLP(3 * 32 * 32, (20,), 4)
    assert abs(lenet.num_parameters() - mlp.num_parameters()) < 0.01 * mlp.num_parameters()
    lenet_acc, mlp_acc = _accuracy(lenet, split, 7), _accuracy(mlp, split, 7)
    assert lenet_acc > mlp_acc + 0.1, (lenet_acc, mlp_acc)


def test_resnet_trains_on_digit_images():
    split = datasets.digits(flat=False)
    chainrule.manual_seed(0)
    model = chainrule.models.ResNet(1, 10, blocks=(1, 1), width=8)
    assert _accuracy(model, split, 2) > 0.5
