"""GPT: against a nanoGPT-style PyTorch twin in float64 (logits, loss, every parameter
gradient), nanoGPT's names and weight tying, initialisation, sampling, the loss, and the
tensor description used to check checkpoints."""
import math

import numpy as np
import pytest

import chainrule
from chainrule import errors
from chainrule.models.gpt import GPT, NextTokenLoss, described_tensors

CONFIG = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)


def torch_twin(torch, vocab_size, block_size, n_layer, n_head, n_embd, bias=True, dropout=0.0):
    """nanoGPT's model, written with PyTorch's own layers and F.scaled_dot_product_attention."""
    nn, F = torch.nn, torch.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
            self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (z.view(b, t, n_head, c // n_head).transpose(1, 2)
                       for z in self.c_attn(x).split(n_embd, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
            self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

        def forward(self, x):
            return self.c_proj(F.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab_size, n_embd), wpe=nn.Embedding(block_size, n_embd),
                drop=nn.Dropout(dropout), h=nn.ModuleList([Block() for _ in range(n_layer)]),
                ln_f=nn.LayerNorm(n_embd, bias=bias)))
            self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx):
            pos = torch.arange(idx.shape[1])
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(self.transformer.ln_f(x))
    return Twin()


def _ids(shape, vocab, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape)


@pytest.mark.torch
@pytest.mark.parametrize("bias", [True, False])
def test_gpt_matches_a_pytorch_twin_in_float64(bias):
    torch = pytest.importorskip("torch")
    chainrule.manual_seed(0)
    ours = GPT(**CONFIG, bias=bias).double()
    theirs = torch_twin(torch, **CONFIG, bias=bias).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x, y = _ids((3, 8), CONFIG["vocab_size"]), _ids((3, 8), CONFIG["vocab_size"], 1)
    logits = ours(chainrule.tensor(x))
    t_logits = theirs(torch.tensor(x))
    np.testing.assert_allclose(logits.numpy(), t_logits.detach().numpy(), rtol=1e-6, atol=1e-9)
    loss = NextTokenLoss()(logits, chainrule.tensor(y))
    t_loss = torch.nn.functional.cross_entropy(t_logits.view(-1, CONFIG["vocab_size"]),
                                               torch.tensor(y).view(-1))
    assert abs(loss.item() - t_loss.item()) < 1e-12
    loss.backward()
    t_loss.backward()
    t_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(t_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=1e-6,
                                   atol=1e-10, err_msg=name)


@pytest.mark.torch
def test_weights_move_to_pytorch_and_back_through_safetensors(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    chainrule.manual_seed(1)
    ours = GPT(**CONFIG)
    chainrule.save(ours.state_dict(), str(tmp_path / "gpt.safetensors"))
    theirs = torch_twin(torch, **CONFIG)
    state = safetensors_torch.load_file(str(tmp_path / "gpt.safetensors"))
    theirs.load_state_dict(state)
    x = _ids((2, 5), CONFIG["vocab_size"])
    with chainrule.no_grad(), torch.no_grad():
        np.testing.assert_allclose(ours(chainrule.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    back = GPT(**CONFIG)
    safetensors_torch.save_model(theirs, str(tmp_path / "torch.safetensors"))  # tied: once
    loaded = chainrule.load(str(tmp_path / "torch.safetensors"))
    loaded.setdefault("lm_head.weight", loaded.get("transformer.wte.weight"))
    loaded.setdefault("transformer.wte.weight", loaded["lm_head.weight"])
    back.load_state_dict(loaded)
    assert np.array_equal(back.lm_head.weight.numpy(), ours.lm_head.weight.numpy())


def test_weight_tying_and_nanogpt_initialisation():
    chainrule.manual_seed(0)
    model = GPT(vocab_size=50, block_size=32, n_layer=4, n_head=4, n_embd=64)
    assert model.transformer["wte"].weight is model.lm_head.weight
    assert "lm_head.weight" in model.state_dict()
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())
    assert model.num_parameters(non_embedding=True) == model.num_parameters() - 32 * 64
    proj = model.transformer["h"][0].attn.c_proj.weight.numpy()
    assert abs(proj.std() - 0.02 / math.sqrt(8)) < 0.002
    assert abs(model.transformer["h"][0].mlp.c_fc.weight.numpy().std() - 0.02) < 0.002
    assert not model.transformer["h"][1].attn.c_attn.bias.numpy().any()
    assert (model.transformer["ln_f"].weight.numpy() == 1).all()


@pytest.mark.parametrize("config", [CONFIG, dict(CONFIG, bias=False, n_layer=1),
                                    dict(vocab_size=3, block_size=2, n_layer=0, n_head=1,
                                         n_embd=4)])
def test_described_tensors_are_those_of_the_model(config):
    model = GPT(**config)
    assert dict(described_tensors(config)) == {k: tuple(v.shape)
                                              for k, v in model.state_dict().items()}


def test_generate_greedy_top_k_seeded_and_cropped_to_the_block():
    chainrule.manual_seed(2)
    model = GPT(**CONFIG)
    start = chainrule.tensor([[1, 2, 3]])
    greedy = model.generate(start, 10, temperature=0).numpy()
    assert greedy.shape == (1, 13) and (greedy[:, :3] == [[1, 2, 3]]).all()
    with chainrule.no_grad():
        first = model(start).numpy()[0, -1].argmax()
    assert greedy[0, 3] == first
    assert (model.generate(start, 10, top_k=1).numpy() == greedy).all()
    a = model.generate(start, 20, generator=chainrule.Generator(5)).numpy()
    b = model.generate(start, 20, generator=chainrule.Generator(5)).numpy()
    assert (a == b).all() and a.max() < CONFIG["vocab_size"]
    assert model.training                                # generate restores the mode


def test_sampling_follows_the_softmax():
    from chainrule.models.gpt import _sample
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.7, 0.2, 0.1, 0.0]]) + 1e-12).repeat(20000, axis=0)
    counts = np.bincount(_sample(logits, 1.0, None, rng), minlength=4) / 20000
    np.testing.assert_allclose(counts, [0.7, 0.2, 0.1, 0.0], atol=0.015)
    counts = np.bincount(_sample(logits, 1.0, 2, rng), minlength=4) / 20000
    np.testing.assert_allclose(counts, [0.7 / 0.9, 0.2 / 0.9, 0, 0], atol=0.015)


def test_a_tiny_gpt_learns_a_repeating_text():
    chainrule.manual_seed(0)
    text = np.tile(np.arange(5), 40)
    x = np.stack([text[i:i + 8] for i in range(0, 190, 3)])
    y = np.stack([text[i + 1:i + 9] for i in range(0, 190, 3)])
    model = GPT(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=16)
    optimizer = chainrule.optim.AdamW(model.parameters(), lr=1e-2)
    loss_fn = NextTokenLoss()
    for _ in range(60):
        optimizer.zero_grad()
        loss = loss_fn(model(chainrule.tensor(x)), chainrule.tensor(y))
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1
    assert model.generate(chainrule.tensor([[0, 1]]), 5, temperature=0).tolist() == \
        [[0, 1, 2, 3, 4, 0, 1]]


@pytest.mark.parametrize("call, error, match", [
    (lambda: GPT(**CONFIG)(chainrule.tensor(_ids((1, 9), 11))), errors.ShapeError,
     "longer than block_size 8"),
    (lambda: GPT(**CONFIG)(chainrule.tensor(_ids((9,), 11))), errors.ShapeError,
     r"\(batch, time\)"),
    (lambda: GPT(**dict(CONFIG, n_head=3)), errors.ArgumentError, "divisible"),
    (lambda: GPT(**dict(CONFIG, vocab_size=0)), errors.ArgumentError, "vocab_size"),
    (lambda: GPT(**CONFIG).generate(chainrule.tensor([[1]]), 2, temperature=-1),
     errors.ArgumentError, "temperature"),
    (lambda: NextTokenLoss()(chainrule.zeros(2, 3, 4), chainrule.zeros(2, 4)),
     errors.ShapeError, r"\(B, T, V\)"),
])
def test_gpt_errors_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()
