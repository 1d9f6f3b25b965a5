"""``chainrule generate``: sample text from a GPT that ``chainrule train --model gpt`` saved.

The checkpoint carries the model's configuration and its vocabulary (the characters, as the
run's class names). Both are checked — every option in range, the vocabulary one distinct
character per token, the tensors the configuration implies equal to those in the file —
before the model is built; then the prompt is encoded, continued token by token, and the
prompt and its continuation are printed.
"""
import numbers

from . import common
from .common import CommandError, check_regular_file

LARGEST = {"vocab_size": 2**20, "block_size": 2**16, "n_layer": 256, "n_head": 1024,
           "n_embd": 2**16}
RUN_FILES = "use the model.safetensors that chainrule train --dataset text --model gpt --out " \
            "DIR writes"


def add_parsers(sub):
    p = sub.add_parser(
        "generate", help="sample text from a GPT trained with chainrule train --model gpt",
        description="Continue a prompt with a character-level GPT saved by chainrule train "
                    "--dataset text[:PATH] --model gpt --out DIR, and print the result.")
    p.add_argument("--checkpoint", required=True, type=common.path,
                   help="model.safetensors (or checkpoints/epoch-N.safetensors) of the run")
    p.add_argument("--prompt", default="", help="text to continue (default: a new line)")
    p.add_argument("--tokens", type=common.integer(1, 100_000), default=200,
                   help="characters to generate (default 200)")
    p.add_argument("--temperature", type=common.number(0), default=0.8,
                   help="sampling temperature >= 0; 0 always picks the most likely character "
                        "(default 0.8)")
    p.add_argument("--top-k", dest="top_k", type=common.integer(1, 2**20), default=None,
                   help="sample among the K most likely characters only (default: all)")
    p.add_argument("--seed", type=common.integer(0, 2**63 - 1), default=0,
                   help="random seed of the sampling (default 0)")
    p.set_defaults(run=run_generate)


def run_generate(args):
    import chainrule
    from ..data.text import encode, decode
    model, vocab = load_gpt(args.checkpoint)
    prompt = args.prompt or ("\n" if "\n" in vocab else vocab[0])
    unknown = sorted(set(prompt) - set(vocab))
    if unknown:
        raise CommandError(f"--prompt: the model never saw {len(unknown)} of its characters: "
                           f"{''.join(unknown)[:40]!r}",
                           hint=f"it knows {len(vocab)} characters, those of its training text")
    if args.top_k is not None and args.top_k > len(vocab):
        raise CommandError(f"--top-k {args.top_k} is larger than the vocabulary "
                           f"({len(vocab)} characters)")
    ids = encode(prompt, vocab)[None, :]
    generator = chainrule.Generator(args.seed)
    out = model.generate(chainrule.tensor(ids), args.tokens, temperature=args.temperature,
                         top_k=args.top_k, generator=generator)
    print(decode(out.numpy()[0], vocab))
    return 0


def _positive(config, name, path):
    value = config.get(name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
            not 1 <= value <= LARGEST[name]:
        raise CommandError(f"{path}: the model description's {name} = {str(value)[:40]!r} is "
                           f"not an integer in [1, {LARGEST[name]}]", hint=RUN_FILES)
    return int(value)


def _gpt_config(path, description):
    """The GPT options and the vocabulary of a run's description, each checked."""
    model = description.get("model") if isinstance(description, dict) else None
    if not isinstance(model, dict) or model.get("type") != "gpt":
        kind = model.get("type") if isinstance(model, dict) else None
        raise CommandError(f"{path}: not a GPT checkpoint (model type {str(kind)[:40]!r})",
                           hint=RUN_FILES)
    unknown = sorted(set(model) - {"type", "vocab_size", "block_size", "n_layer", "n_head",
                                   "n_embd", "dropout", "bias"})
    if unknown:
        raise CommandError(f"{path}: unknown GPT option(s) {', '.join(unknown)[:80]}")
    config = {name: _positive(model, name, path) for name in LARGEST}
    if config["n_embd"] % config["n_head"]:
        raise CommandError(f"{path}: n_embd {config['n_embd']} is not divisible by n_head "
                           f"{config['n_head']}")
    dropout = model.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or \
            not 0 <= dropout < 1:
        raise CommandError(f"{path}: the model description's dropout = {str(dropout)[:40]!r} "
                           "is not in [0, 1)")
    bias = model.get("bias", True)
    if not isinstance(bias, bool):
        raise CommandError(f"{path}: the model description's bias = {str(bias)[:40]!r} is not "
                           "true or false")
    config.update(dropout=float(dropout), bias=bias)
    names = description.get("class_names")
    if not isinstance(names, list) or len(names) != config["vocab_size"] or not all(
            isinstance(c, str) and len(c) == 1 for c in names) or len(set(names)) != len(names):
        raise CommandError(f"{path}: its vocabulary (class_names) is not {config['vocab_size']} "
                           "distinct characters", hint=RUN_FILES)
    return config, "".join(names)


def load_gpt(path):
    """(model, vocabulary) from a checkpoint, checked before anything is built."""
    from ..errors import CheckpointError
    from ..io.checkpoint import load_checkpoint
    from ..io.safetensors_format import read_header
    from ..models.gpt import GPT, described_tensors
    check_regular_file(path, "--checkpoint")
    try:
        entries, _ = read_header(path)
        description = load_checkpoint(path, restore_rng=False)["extra"]
        config, vocab = _gpt_config(path, description)
        stored = {name[len("model."):]: tuple(e.shape) for name, e in entries.items()
                  if name.startswith("model.")}
        described = dict(described_tensors(config))
        problems = [f"{n}: described {s}, stored {stored.get(n, 'nothing')}"
                    for n, s in described.items() if stored.get(n) != s]
        problems += [f"{n}: stored, not described" for n in stored if n not in described]
        if problems:
            raise CommandError(f"{path}: the GPT description does not fit the tensors in the "
                               f"file: {'; '.join(problems[:3])}", hint=RUN_FILES)
        needed = 4 * sum(_size(s) for s in described.values())
        if needed > common.memory_budget():
            raise CommandError(f"{path}: the model would need {common.gib(needed)}; this "
                               f"machine allows {common.gib(common.memory_budget())}")
        model = GPT(**config)
        load_checkpoint(path, model, restore_rng=False)
    except CheckpointError as error:
        raise CommandError(" ".join(str(error).split()), hint=RUN_FILES) from None
    return model.eval(), vocab


def _size(shape):
    total = 1
    for n in shape:
        total *= n
    return total
