"""``chainrule convert model.pt model.safetensors``: a PyTorch checkpoint as safetensors.

The ``.pt`` file is read by :func:`chainrule.io.load_torch` (nothing in it is executed).
Its tensors are written under their dotted paths: a state_dict keeps PyTorch's names
(``0.weight``), a nested checkpoint gets prefixed names (``model.0.weight``,
``optimizer.state.0.exp_avg``). Values that are not tensors (epochs, learning rates) have no
place in safetensors and are counted in the summary line instead.
"""
import os

from .common import CommandError


def add_parsers(sub):
    p = sub.add_parser("convert", help="convert a PyTorch .pt/.pth checkpoint to safetensors",
                       description="Read a file written by torch.save (without PyTorch, and "
                                   "without running any code in it) and write its tensors "
                                   "to a .safetensors file.")
    p.add_argument("source", help="the .pt or .pth file")
    p.add_argument("target", help="the .safetensors file to write")
    p.set_defaults(run=run_convert)


def flatten_tensors(value, prefix=""):
    """(name -> Tensor, number of non-tensor values) of a nested checkpoint."""
    from ..tensor import Tensor
    if isinstance(value, Tensor):
        return {prefix or "tensor": value}, 0
    if isinstance(value, dict):
        items = ((str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {}, 1
    tensors, skipped = {}, 0
    for key, item in items:
        found, missed = flatten_tensors(item, f"{prefix}.{key}" if prefix else key)
        tensors.update(found)
        skipped += missed
    return tensors, skipped


def run_convert(args):
    from ..io.checkpoint import save
    from ..io.torch_format import load_torch
    if not args.target.endswith(".safetensors"):
        raise CommandError(f"target {args.target} must end in .safetensors")
    if os.path.abspath(args.source) == os.path.abspath(args.target):
        raise CommandError("source and target are the same file")
    tensors, skipped = flatten_tensors(load_torch(args.source))
    if not tensors:
        raise CommandError(f"{args.source} holds no tensors")
    save(tensors, args.target)
    note = f"; {skipped} non-tensor values left out" if skipped else ""
    print(f"wrote {args.target}: {len(tensors)} tensors from {args.source}{note}")
    return 0
