"""TensorBoard logs written by the callback, read back by TensorBoard's own backend: its
event multiplexer and data provider (what ``tensorboard --logdir`` serves), the Graphs
plugin (what the Graphs tab draws) and the HParams plugin's backend context."""
import io
import warnings

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import TensorDataset, datasets
from chainrule.data.images import make_shapes
from chainrule.io import TensorBoardLogger
from chainrule.io.tensorboard import graph_def, model_graph

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")
from tensorboard import context  # noqa: E402
from tensorboard.backend.event_processing import data_provider  # noqa: E402
from tensorboard.backend.event_processing import plugin_event_multiplexer  # noqa: E402
from tensorboard.compat.proto import graph_pb2  # noqa: E402
from tensorboard.plugins import base_plugin  # noqa: E402
from tensorboard.plugins.graph import graphs_plugin  # noqa: E402
from tensorboard.plugins.hparams import backend_context, plugin_data_pb2  # noqa: E402

EPOCHS, BATCHES = 2, 3


class Backend:
    """TensorBoard's backend over a log directory, as the server builds it."""

    def __init__(self, log_dir):
        self.multiplexer = plugin_event_multiplexer.EventMultiplexer()
        self.multiplexer.AddRunsFromDirectory(str(log_dir))
        self.multiplexer.Reload()
        self.provider = data_provider.MultiplexerDataProvider(self.multiplexer, str(log_dir))
        self.tb_context = base_plugin.TBContext(logdir=str(log_dir),
                                                multiplexer=self.multiplexer,
                                                data_provider=self.provider)
        self.ctx = context.RequestContext()

    def runs(self):
        return sorted(run.run_name for run in self.provider.list_runs(self.ctx,
                                                                      experiment_id=""))

    def scalars(self, run, tag):
        data = self.provider.read_scalars(self.ctx, experiment_id="", plugin_name="scalars",
                                          downsample=10**6)
        return [(d.step, d.value) for d in data[run][tag]]

    def tags(self, run, plugin, kind="scalars"):
        lister = {"scalars": self.provider.list_scalars, "tensors": self.provider.list_tensors,
                  "blobs": self.provider.list_blob_sequences}[kind]
        return set(lister(self.ctx, experiment_id="", plugin_name=plugin).get(run, {}))

    def histogram_steps(self, run, tag):
        data = self.provider.read_tensors(self.ctx, experiment_id="", plugin_name="histograms",
                                          downsample=10**6)
        return [d.step for d in data[run][tag]]

    def images(self, run, tag):
        data = self.provider.read_blob_sequences(self.ctx, experiment_id="",
                                                 plugin_name="images", downsample=10)
        blobs = data[run][tag][-1].values        # width, height, then one PNG per image
        return [self.provider.read_blob(self.ctx, blob_key=b.blob_key) for b in blobs]

    def graph(self, run):
        plugin = graphs_plugin.GraphsPlugin(self.tb_context)
        assert plugin.info_impl(self.ctx, "")[run]["run_graph"]
        text, mime = plugin.graph_impl(self.ctx, run, None, False, "")
        assert mime == "text/x-protobuf"
        from google.protobuf import text_format
        return text_format.Parse(text, graph_pb2.GraphDef())

    def hparams(self, run):
        metadata = backend_context.Context(self.tb_context).hparams_metadata(self.ctx, "")
        contents = {tag: plugin_data_pb2.HParamsPluginData.FromString(content)
                    for tag, content in metadata[run].items()}
        start = contents["_hparams_/session_start_info"].session_start_info
        values = {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
                  for k, v in start.hparams.items()}
        experiment = contents["_hparams_/experiment"].experiment
        return values, {m.name.tag for m in experiment.metric_infos}


@pytest.fixture(scope="module")
def logged_runs(tmp_path_factory):
    """Two fits of LeNet-5 on tiny shape images, logged under one directory."""
    tmp_path = tmp_path_factory.mktemp("runs")
    images, labels = make_shapes(64, size=16, seed=0)
    train = TensorDataset(images[:48], labels[:48])
    val = TensorDataset(images[48:], labels[48:])
    histories = []
    for run, lr in enumerate((0.05, 0.01)):
        chainrule.manual_seed(run)
        model = chainrule.models.LeNet5(3, 4, image_size=16)
        logger = TensorBoardLogger(str(tmp_path), histogram_every_steps=2,
                                   hparams={"augmentation": "none", "run": run}, images=5)
        histories.append(chainrule.fit(model, nn.CrossEntropyLoss(),
                                       optim.SGD(model.parameters(), lr=lr, momentum=0.9),
                                       train, val_data=val, epochs=EPOCHS, batch_size=16,
                                       progress=False, callbacks=[logger]))
    return Backend(tmp_path), histories, model


def test_separate_runs_get_separate_directories(logged_runs):
    backend, _, _ = logged_runs
    assert len(backend.runs()) == 2


def test_scalars_loss_metrics_and_learning_rate(logged_runs):
    backend, histories, _ = logged_runs
    run = backend.runs()[1]
    assert {"train/loss_step", "train/lr_step", "train/loss", "train/accuracy", "val/loss",
            "val/accuracy", "lr"} <= backend.tags(run, "scalars")
    steps = backend.scalars(run, "train/loss_step")
    assert [s for s, _ in steps] == list(range(1, EPOCHS * BATCHES + 1))
    assert [v for _, v in steps] == pytest.approx([s["loss"] for s in histories[1].steps])
    assert backend.scalars(run, "lr") == [(1, pytest.approx(0.01)), (2, pytest.approx(0.01))]
    assert backend.scalars(run, "val/accuracy")[-1][1] == \
        pytest.approx(histories[1].epochs[-1]["val_accuracy"])


def test_weight_and_gradient_histograms_every_n_steps(logged_runs):
    backend, _, model = logged_runs
    run = backend.runs()[0]
    tags = backend.tags(run, "histograms", "tensors")
    for name, _ in model.named_parameters():
        assert {f"weights/{name}", f"grads/{name}"} <= tags
    assert backend.histogram_steps(run, "grads/0.weight") == [2, 4, 6]


def test_graph_in_the_graphs_tab_is_chainrules_graph(logged_runs):
    backend, _, model = logged_runs
    graph = backend.graph(backend.runs()[0])
    nodes = {node.name: node for node in graph.node}
    for node in graph.node:                              # a connected, well-formed graph
        assert all(source in nodes for source in node.input), node.name
    assert nodes["input"].op == "Input"
    assert nodes["LeNet5/Conv2d[0]/Conv_0"].input[:2] == ["input", "LeNet5/Conv2d[0]/weight"]
    readers = {source: node.name for node in graph.node for source in node.input}
    assert readers["LeNet5/Conv2d[0]/bias"].startswith("LeNet5/Conv2d[0]/")
    parameters = {n.name for n in graph.node if n.op == "Parameter"}
    assert parameters == {f"LeNet5/{type(model[int(name.split('.')[0])]).__name__}"
                          f"[{name.split('.')[0]}]/{name.split('.')[1]}"
                          for name, _ in model.named_parameters()}
    shape = [d.size for d in nodes["output"].attr["_output_shapes"].list.shape[0].dim]
    assert shape == [1, 4]
    assert {n.op for n in graph.node} >= {"Conv", "ReLU", "MaxPool", "Linear", "Output"}


def test_hparams_with_the_final_metrics(logged_runs):
    backend, histories, _ = logged_runs
    run = backend.runs()[1]
    values, metrics = backend.hparams(run)
    assert values["lr"] == pytest.approx(0.01) and values["momentum"] == pytest.approx(0.9)
    assert values["optimizer"] == "SGD" and values["model"] == "LeNet5"
    assert values["batch_size"] == 16 and values["augmentation"] == "none"
    assert metrics == {"hparam/loss", "hparam/accuracy", "hparam/val_loss",
                       "hparam/val_accuracy"}
    assert backend.scalars(run, "hparam/val_loss") == \
        [(EPOCHS * BATCHES, pytest.approx(histories[1].epochs[-1]["val_loss"]))]


def test_images_of_an_image_task(logged_runs):
    from PIL import Image
    backend, _, _ = logged_runs
    blobs = backend.images(backend.runs()[0], "images/inputs")
    width, height, grid = blobs                 # the five images side by side
    assert (int(width), int(height)) == (5 * 16, 16)
    assert Image.open(io.BytesIO(grid)).size == (5 * 16, 16)


def test_logging_leaves_the_training_run_unchanged(tmp_path):
    """The graph pass and the image samples must not move any random stream or statistic."""
    def train(callbacks):
        chainrule.manual_seed(3)
        split = datasets.iris()
        model = chainrule.models.MLP(4, (8,), 3, batch_norm=True, dropout=0.2)
        chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                      split.train, epochs=2, batch_size=40, shuffle=True, progress=False,
                      callbacks=callbacks)
        return [p.numpy().copy() for p in model.state_dict().values()]
    plain = train([])
    logged = train([TensorBoardLogger(str(tmp_path))])
    assert all(np.array_equal(a, b) for a, b in zip(plain, logged))
    assert Backend(tmp_path).tags(Backend(tmp_path).runs()[0], "images", "blobs") == set()


def test_graph_def_of_an_expression_and_a_model_that_returns_no_tensor():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    x = chainrule.tensor([3.0, 4.0])
    nodes = graph_def((w * x).sum(), names={id(w): "w"}, inputs=[x]).node
    assert [(n.name, n.op, list(n.input)) for n in nodes] == [
        ("w", "Parameter", []), ("input", "Input", []), ("Mul_0", "Mul", ["w", "input"]),
        ("Sum_0", "Sum", ["Mul_0"]), ("output", "Output", ["Sum_0"])]

    class Nothing(nn.Module):
        def forward(self, x):
            return None
    with pytest.raises(TypeError, match="returned no tensor"):
        model_graph(Nothing(), chainrule.zeros(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model_graph(chainrule.models.MLP(3, (4,), 2, batch_norm=True), chainrule.zeros(1, 3))
