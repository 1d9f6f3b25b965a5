"""summary: a table of layers, output shapes and parameter counts (like Keras / torchinfo)."""
from ..autograd.grad_mode import no_grad
from ..creation import zeros


class Summary:
    def __init__(self, rows, total, trainable, input_shape):
        self.rows, self.total, self.trainable, self.input_shape = rows, total, trainable, \
            input_shape

    def to_text(self):
        header = ("layer", "type", "output shape", "parameters")
        body = [(name, kind, str(shape), f"{count:,}") for name, kind, shape, count in self.rows]
        widths = [max(len(r[i]) for r in [header] + body) for i in range(4)]
        rule = "-" * (sum(widths) + 6)
        lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in body]
        lines += [rule, f"total parameters: {self.total:,} ({self.trainable:,} trainable)",
                  f"input shape: {self.input_shape}"]
        return "\n".join(lines)

    def to_dict(self):
        return {"layers": [{"name": n, "type": k, "output_shape": list(s), "parameters": c}
                           for n, k, s, c in self.rows],
                "total_parameters": self.total, "trainable_parameters": self.trainable}

    __str__ = to_text


def summary(model, input_shape, dtype=None):
    """Run ``model`` on zeros of ``input_shape`` (batch included) and tabulate its layers.

    >>> import chainrule
    >>> print(summary(chainrule.models.MLP(4, (8,), 2), (1, 4)).to_text().splitlines()[4])
    1      Linear   (1, 8)        40
    """
    rows, handles = [], []
    for name, module in model.named_modules():
        if not name or list(module.children()):
            continue
        count = sum(p.numel() for p in module.parameters())
        handles.append(module.register_forward_hook(
            lambda m, args, out, name=name, count=count:
                rows.append((name, type(m).__name__, tuple(out.shape), count))))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(zeros(*input_shape, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    total = model.num_parameters()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return Summary(rows, total, trainable, tuple(input_shape))
