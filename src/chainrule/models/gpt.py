"""GPT: a nanoGPT-style decoder-only transformer for next-token prediction.

Token and position embeddings are summed, passed through ``n_layer`` pre-norm blocks
(x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x))) with causal self-attention, a last
LayerNorm, and a linear head whose weight is the token embedding's (weight tying). Names
follow nanoGPT (``transformer.wte``, ``transformer.h.0.attn.c_attn``, ``lm_head``), so a
state_dict moves between the two.

>>> import chainrule
>>> model = GPT(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8)
>>> model(chainrule.tensor([[1, 2, 3]])).shape
(1, 3, 10)
"""
import math

import numpy

from ..autograd.grad_mode import no_grad
from ..creation import arange
from ..errors import ArgumentError, ShapeError
from ..generator import default_generator
from ..nn import functional as F
from ..nn import init
from ..nn.container import ModuleDict, ModuleList
from ..nn.dropout import Dropout
from ..nn.linear import Embedding, Linear
from ..nn.module import Module
from ..nn.norm import LayerNorm
from ..ops.attention import attention_heads
from ..tensor import Tensor


#: the GPT ``chainrule train --model gpt`` builds, and the training options it uses unless
#: told otherwise: small enough to learn the default corpus in a few minutes on 2 cores
TEXT_MODEL = dict(n_layer=2, n_head=4, n_embd=64)
TRAINING_DEFAULTS = dict(epochs=2, batch_size=32, lr=3e-3)


def for_text(split, **options):
    """The GPT of :data:`TEXT_MODEL` (``options`` override it) for a text split of
    ``chainrule.data.text``: its vocabulary size and block size.

    >>> from chainrule.data import datasets
    >>> for_text(datasets.text(block_size=16, max_chars=3000)).config["block_size"]
    16
    """
    return GPT(split.num_classes, split.block_size, **dict(TEXT_MODEL, **options))


def _layer_norm(width, bias):
    norm = LayerNorm(width)
    if not bias:
        norm.bias = None
    return norm


class CausalSelfAttention(Module):
    """Multi-head self-attention where position t sees positions 0..t: one projection to
    q, k, v (``c_attn``), attention as one node, and an output projection (``c_proj``)."""

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        if n_embd % n_head:
            raise ArgumentError(f"GPT: n_embd ({n_embd}) must be divisible by n_head "
                                f"({n_head})")
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = Dropout(dropout)
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout

    def forward(self, x):
        y = attention_heads([self.c_attn(x)], (3,), self.n_head, batch_first=True,
                            is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.c_proj(y))


class MLP(Module):
    """Linear to 4 n_embd, GELU, linear back, dropout."""

    def __init__(self, n_embd, dropout=0.0, bias=True):
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(Module):
    """x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)) (pre-norm)."""

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        self.ln_1 = _layer_norm(n_embd, bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = _layer_norm(n_embd, bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(Module):
    """A decoder-only transformer: token ids (B, T) -> next-token logits (B, T, vocab_size).

    ``block_size`` is the longest context; ``bias=False`` drops the biases of the linear
    layers and LayerNorms. Initialisation is nanoGPT's: N(0, 0.02) weights, zero biases,
    and the residual projections scaled by 1/sqrt(2 n_layer).

    >>> import chainrule
    >>> _ = chainrule.manual_seed(0)
    >>> model = GPT(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4)
    >>> model.generate(chainrule.tensor([[0]]), max_new_tokens=3).shape
    (1, 4)
    """

    def __init__(self, vocab_size, block_size=128, n_layer=4, n_head=4, n_embd=128,
                 dropout=0.0, bias=True):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("block_size", block_size),
                            ("n_layer", n_layer), ("n_head", n_head), ("n_embd", n_embd)):
            low = 0 if name == "n_layer" else 1
            if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or \
                    value < low:
                raise ArgumentError(f"GPT: {name} must be an integer >= {low}, got {value!r}")
        if not 0 <= dropout < 1:
            raise ArgumentError(f"GPT: dropout must be in [0, 1), got {dropout}")
        self.transformer = ModuleDict({
            "wte": Embedding(vocab_size, n_embd),
            "wpe": Embedding(block_size, n_embd),
            "drop": Dropout(dropout),
            "h": ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)]),
            "ln_f": _layer_norm(n_embd, bias),
        })
        self.lm_head = Linear(n_embd, vocab_size, bias=False)
        self.transformer["wte"].weight = self.lm_head.weight        # weight tying
        self.block_size = block_size
        self.config = dict(vocab_size=int(vocab_size), block_size=int(block_size),
                           n_layer=int(n_layer), n_head=int(n_head), n_embd=int(n_embd),
                           dropout=float(dropout), bias=bool(bias))
        self._init_weights(n_layer)

    def _init_weights(self, n_layer):
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))
            elif name.endswith("bias"):
                init.zeros_(p)
            elif p.ndim == 2:
                init.normal_(p, 0.0, 0.02)

    def forward(self, idx):
        idx = idx if isinstance(idx, Tensor) else Tensor(numpy.asarray(idx))
        if idx.ndim != 2:
            raise ShapeError(f"GPT: expected token ids of shape (batch, time), got {idx.shape}")
        length = idx.shape[1]
        if length > self.block_size:
            raise ShapeError(f"GPT: a sequence of {length} tokens is longer than block_size "
                             f"{self.block_size}")
        parts = self.transformer
        x = parts["wte"](idx) + parts["wpe"](arange(length))
        x = parts["drop"](x)
        for block in parts["h"]:
            x = block(x)
        return self.lm_head(parts["ln_f"](x))

    def num_parameters(self, trainable_only=False, non_embedding=False):
        """Parameters (shared ones once); ``non_embedding`` leaves out the position table."""
        total = super().num_parameters(trainable_only)
        return total - self.transformer["wpe"].weight.numel() if non_embedding else total

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Continue the token ids ``idx`` (B, T) by ``max_new_tokens`` sampled tokens: each
        from softmax(logits / temperature) over the ``top_k`` most likely (all by default);
        ``temperature=0`` picks the most likely token. Runs in eval mode without a graph.
        """
        if temperature < 0:
            raise ArgumentError(f"GPT.generate: temperature must be >= 0, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ArgumentError(f"GPT.generate: top_k must be >= 1, got {top_k}")
        rng = (generator or default_generator).numpy
        tokens = numpy.array(idx._data if isinstance(idx, Tensor) else idx, dtype=numpy.int64)
        if tokens.ndim != 2 or tokens.shape[1] == 0:
            raise ShapeError(f"GPT.generate: expected a (batch, time) array of at least one "
                             f"token, got shape {tokens.shape}")
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    logits = self(Tensor(tokens[:, -self.block_size:]))._data[:, -1, :]
                    tokens = numpy.concatenate(
                        [tokens, _sample(logits, temperature, top_k, rng)[:, None]], axis=1)
        finally:
            self.train(was_training)
        return Tensor(tokens)


def _sample(logits, temperature, top_k, rng):
    """One token per row of ``logits`` (B, V)."""
    logits = numpy.asarray(logits, dtype=numpy.float64)
    if temperature == 0:
        return logits.argmax(axis=1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[1]:
        kth = numpy.sort(logits, axis=1)[:, -top_k][:, None]
        logits = numpy.where(logits < kth, -numpy.inf, logits)
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = numpy.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    cumulative = probabilities.cumsum(axis=1)
    draws = rng.random((logits.shape[0], 1)) * cumulative[:, -1:]
    return numpy.minimum((cumulative < draws).sum(axis=1), logits.shape[1] - 1)


class NextTokenLoss(Module):
    """Mean cross-entropy of next-token logits (B, T, V) against the next tokens (B, T): nats
    per token, what ``F.cross_entropy(logits.view(-1, V), targets.view(-1))`` gives.

    >>> import chainrule
    >>> logits = chainrule.zeros(2, 3, 4)
    >>> round(NextTokenLoss()(logits, chainrule.zeros(2, 3, dtype="int64")).item(), 4)
    1.3863
    """

    def forward(self, logits, targets):
        if logits.ndim != 3 or tuple(targets.shape) != tuple(logits.shape[:2]):
            raise ShapeError(f"NextTokenLoss: expected logits (B, T, V) and targets (B, T), got "
                             f"{logits.shape} and {tuple(targets.shape)}")
        vocab = logits.shape[2]
        return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))


def described_tensors(config):
    """(state_dict name, shape) of every tensor a GPT of ``config`` has, computed without
    building it (to check a checkpoint before allocating anything).

    >>> dict(described_tensors(dict(vocab_size=5, block_size=4, n_layer=0, n_head=1,
    ...                                 n_embd=2, bias=False)))
    {'transformer.wte.weight': (5, 2), 'transformer.wpe.weight': (4, 2), \
'transformer.ln_f.weight': (2,), 'lm_head.weight': (5, 2)}
    """
    width, bias = config["n_embd"], config.get("bias", True)
    yield "transformer.wte.weight", (config["vocab_size"], width)
    yield "transformer.wpe.weight", (config["block_size"], width)

    def norm(prefix):
        yield f"{prefix}.weight", (width,)
        if bias:
            yield f"{prefix}.bias", (width,)

    def linear(prefix, fan_in, fan_out):
        yield f"{prefix}.weight", (fan_out, fan_in)
        if bias:
            yield f"{prefix}.bias", (fan_out,)
    for i in range(config["n_layer"]):
        block = f"transformer.h.{i}"
        yield from norm(f"{block}.ln_1")
        yield from linear(f"{block}.attn.c_attn", width, 3 * width)
        yield from linear(f"{block}.attn.c_proj", width, width)
        yield from norm(f"{block}.ln_2")
        yield from linear(f"{block}.mlp.c_fc", width, 4 * width)
        yield from linear(f"{block}.mlp.c_proj", 4 * width, width)
    yield from norm("transformer.ln_f")
    yield "lm_head.weight", (config["vocab_size"], width)
