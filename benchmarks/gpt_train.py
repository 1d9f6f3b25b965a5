"""gpt_train: the GPT of ``chainrule train --model gpt``, chainrule against PyTorch on the same
weights and batches.

The model is fixed: 2 pre-norm blocks, 4 heads, 64 features, context 64, the 95-character
vocabulary of the default corpus (about 110k parameters), trained with AdamW on batches of
32 windows of the standard library's source text. The PyTorch twin is nanoGPT's model
written with PyTorch's own layers and F.scaled_dot_product_attention, under the same names.

Before anything is timed, both libraries start from the same weights (chainrule's, loaded into
the twin) and must agree: the first loss in float32, and in float64 the loss and every
parameter's gradient. Then each library is timed in its own process (so OpenBLAS's and
PyTorch's thread pools never compete), the two taking turns round after round; each round's
ratio is taken from that round's pair, and the medians are printed, in training tokens per
second.

    python benchmarks/gpt_train.py [--quick] [--rounds N] [--threads N]

``--quick`` (CI) runs the cross-check and one short single-threaded round (its speeds say
nothing), and fails when the libraries disagree. ``--threads N`` caps both libraries' thread
pools (on a machine shared with other jobs, 1 keeps OpenBLAS from stalling).
"""
import sys

import numpy as np

from _common import (blas_report, isolated, median_time, report_rounds, rounds_of, torch_or_none,
                     worst_gradient_difference)

CONFIG = dict(block_size=64, n_layer=2, n_head=4, n_embd=64)
BATCH = 32
LR = 3e-3


# ---------------------------------------------------------------- data and the two models

def batches(count, seed=0):
    """``count`` (inputs, targets) batches of windows of the default corpus, and its
    vocabulary size (the same arrays in every process)."""
    from chainrule.data import datasets
    split = datasets.text(block_size=CONFIG["block_size"])
    x, y = (t.numpy() for t in split.train.tensors)
    order = np.random.default_rng(seed).permutation(len(x))[:count * BATCH]
    return [(x[i], y[i]) for i in order.reshape(count, BATCH)], split.num_classes


def chainrule_model(vocab_size, dtype="float32"):
    import chainrule
    chainrule.manual_seed(0)
    model = chainrule.models.GPT(vocab_size, **CONFIG)
    return model.double() if dtype == "float64" else model


def torch_model(vocab_size, state):
    """nanoGPT's model in PyTorch under chainrule's names, loaded with ``state``."""
    import torch
    nn, F = torch.nn, torch.nn.functional
    width, heads = CONFIG["n_embd"], CONFIG["n_head"]

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn, self.c_proj = nn.Linear(width, 3 * width), nn.Linear(width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2)
                       for z in self.c_attn(x).split(width, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc, self.c_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):
            return self.c_proj(F.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = nn.LayerNorm(width), CausalSelfAttention()
            self.ln_2, self.mlp = nn.LayerNorm(width), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab_size, width),
                wpe=nn.Embedding(CONFIG["block_size"], width), drop=nn.Dropout(0.0),
                h=nn.ModuleList([Block() for _ in range(CONFIG["n_layer"])]),
                ln_f=nn.LayerNorm(width)))
            self.lm_head = nn.Linear(width, vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx):
            x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(idx.shape[1]))
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(self.transformer.ln_f(x))
    net = GPT()
    dtype = next(iter(state.values())).dtype
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return net.to(torch.float64 if dtype == np.float64 else torch.float32)


def state_of(net):
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}


# ---------------------------------------------------------------- agreement

def cross_check(perturb=0.0):
    """First losses (float32, float64) and every gradient (float64) of both libraries from
    the same weights and batch; the largest relative differences. ``perturb`` nudges the
    twin's weights (to see the check fail)."""
    import torch
    import chainrule
    from chainrule.models.gpt import NextTokenLoss
    data, vocab = batches(1)
    x, y = data[0]
    report = {}
    for dtype in ("float32", "float64"):
        ours = chainrule_model(vocab, dtype)
        theirs = torch_model(vocab, {k: v + perturb for k, v in state_of(ours).items()})
        loss = NextTokenLoss()(ours(chainrule.tensor(x)), chainrule.tensor(y))
        loss.backward()
        logits = theirs(torch.from_numpy(x))
        their_loss = torch.nn.functional.cross_entropy(logits.view(-1, vocab),
                                                       torch.from_numpy(y).view(-1))
        their_loss.backward()
        report[f"loss_{dtype}"] = abs(loss.item() - their_loss.item()) / abs(their_loss.item())
        if dtype == "float64":
            report["grad_float64"] = worst_gradient_difference(
                [(name, p.grad.numpy()) for name, p in ours.named_parameters()],
                [(name, p.grad.numpy()) for name, p in theirs.named_parameters()])
    return report


TOLERANCE = {"loss_float32": 1e-4, "loss_float64": 1e-10, "grad_float64": 1e-8}


def disagreements(report):
    """The entries of a cross-check report over their tolerance."""
    return [k for k, v in report.items() if not v <= TOLERANCE[k]]


# ---------------------------------------------------------------- timing (one process each)

def tokens_per_second(which, steps, repeat=5):
    """One contender's median training speed: ``repeat`` timings of ``steps`` AdamW steps
    (on ``steps`` different batches) after warm-up, timed in this process."""
    data, vocab = batches(steps)
    if which == "chainrule":
        import chainrule
        from chainrule.models.gpt import NextTokenLoss
        net = chainrule_model(vocab)
        opt = chainrule.optim.AdamW(net.parameters(), lr=LR)
        loss_fn = NextTokenLoss()
        tensors = [(chainrule.tensor(x), chainrule.tensor(y)) for x, y in data]

        def run():
            for x, y in tensors:
                opt.zero_grad()
                loss_fn(net(x), y).backward()
                opt.step()
    else:
        torch = torch_or_none()
        if torch is None:
            return None
        net = torch_model(vocab, state_of(chainrule_model(vocab)))
        opt = torch.optim.AdamW(net.parameters(), lr=LR)
        tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]

        def run():
            for x, y in tensors:
                opt.zero_grad()
                logits = net(x)
                torch.nn.functional.cross_entropy(logits.view(-1, vocab), y.view(-1)).backward()
                opt.step()
    seconds = median_time(run, repeat=repeat, warmup=1)
    return steps * BATCH * CONFIG["block_size"] / seconds


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 5)
    print(f"gpt_train: GPT {CONFIG}, batch {BATCH}, AdamW; same weights and batches in both "
          f"libraries; each timed in its own process, {rounds} round(s) taken in turn; "
          f"medians of per-round ratios; threads: {threads or 'as configured'}")
    print(blas_report())
    failed = False
    if torch_or_none() is None:
        print("  PyTorch not installed: chainrule timings only")
    else:
        report = isolated("gpt_train", "cross_check", threads=1)
        bad = disagreements(report)
        failed |= bool(bad)
        print("  agreement: " + ", ".join(f"{k} {v:.1e}" for k, v in report.items())
              + ("  DISAGREE: " + ", ".join(bad) if bad else "  (ok)"))
    steps = 1 if quick else 5
    speeds = rounds_of("gpt_train", "tokens_per_second", ("chainrule", "pytorch"),
                       (steps, 1 if quick else 3), rounds, threads=1 if quick else threads)
    report_rounds("gpt_train", "train tokens/s", speeds, "tokens/s", higher_is_better=True)
    if failed:
        print("gpt_train: the two libraries disagree (see above)")
    return 1 if failed else 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    def option(name):
        return int(arguments[arguments.index(name) + 1]) if name in arguments else None
    sys.exit(main(quick="--quick" in arguments, rounds=option("--rounds"),
                  threads=option("--threads")))
