"""Connectionist temporal classification: the negative log-likelihood of a label sequence
summed over every alignment of it with the input frames, as one node.

The labels l of sample n are extended with blanks, l' = (blank, l1, blank, l2, ..., blank),
of length 2 S + 1. Forward runs the alpha recursion over time in log space, vectorised over
the batch and the extended positions s:

    alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), [alpha_{t-1}(s-2)]) + lp_t(l'_s)

(the skip from s-2 allowed where l'_s is a label different from l'_{s-2}), and the loss is
-logsumexp(alpha_{T-1}(2S), alpha_{T-1}(2S-1)). The beta recursion runs the same way
backwards; alpha_t(s) + beta_t(s) - lp_t(l'_s) + loss is the log-probability that frame t
is aligned with position s. PyTorch's gradient with respect to the log-probabilities is

    exp(lp_t(c)) - sum_{s: l'_s = c} exp(alpha_t(s) + beta_t(s) + loss - lp_t(c)),

the gradient with respect to the logits under a log_softmax (it assumes ``log_probs`` come
from one, as PyTorch's does); chainrule gives the same numbers. Frames past a sample's input
length get no gradient. Like PyTorch's, the rule has no second derivative.
"""
from .. import backend, backend_helpers
from ..autograd.function import Function
from ..errors import GraphError

_NEG_INF = float("-inf")


def _logsumexp(*arrays):
    """Elementwise log(sum(exp(a))) of same-shape arrays, -inf where all are -inf."""
    xp = backend.xp
    top = arrays[0]
    for a in arrays[1:]:
        top = xp.maximum(top, a)
    safe = xp.where(xp.isneginf(top), 0.0, top)
    total = sum(xp.exp(a - safe) for a in arrays)
    with _quiet():
        return xp.log(total) + safe


def _quiet():
    return backend_helpers.errstate(divide="ignore", invalid="ignore")


def _shift(a, by, fill=_NEG_INF):
    """a shifted along the last axis, right by ``by`` (left when negative), ``fill`` coming
    in: _shift(a, 1)[s] = a[s - 1]."""
    xp = backend.xp
    out = xp.full_like(a, fill)
    width = a.shape[-1]
    if by >= 0:
        out[..., by:] = a[..., :width - by]
    else:
        out[..., :width + by] = a[..., -by:]
    return out


class CTCLoss(Function):
    """Per-sample CTC negative log-likelihoods (N,) of log-probabilities (T, N, C).

    ``targets`` (N, S) holds each sample's labels, padded; ``input_lengths`` and
    ``target_lengths`` (N,) integer arrays. Impossible alignments give inf, or 0 with no
    gradient under ``zero_infinity``.
    """

    def __init__(self, targets, input_lengths, target_lengths, blank, zero_infinity):
        self.targets, self.blank, self.zero_infinity = targets, blank, zero_infinity
        self.input_lengths, self.target_lengths = input_lengths, target_lengths

    def forward(self, log_probs):
        xp = backend.xp
        n = log_probs.shape[1]
        extended, valid, skip = self._extended_labels(n)
        lp = log_probs[:, xp.arange(n)[:, None], extended]           # (T, N, L)
        alpha = self._alpha(lp, valid, skip)
        ends = 2 * self.target_lengths
        last = alpha[xp.maximum(self.input_lengths - 1, 0), xp.arange(n)]     # (N, L)
        final = last[xp.arange(n), ends]
        before = xp.where(ends > 0, last[xp.arange(n), xp.maximum(ends - 1, 0)], _NEG_INF)
        nll = -_logsumexp(final, before)
        no_frames = self.input_lengths == 0          # aligns only an empty target
        nll = xp.where(no_frames, xp.where(ends == 0, 0.0, float("inf")), nll)
        infinite = xp.isinf(nll)
        if self.zero_infinity:
            nll = xp.where(infinite, 0.0, nll)
        if self.needs_input_grad[0]:
            beta = self._beta(lp, valid, skip)
            grad = self._gradient(log_probs, lp, alpha, beta, extended, nll)
            if self.zero_infinity:
                grad[:, infinite, :] = 0
            self.gradient = grad
            self.save_for_backward(log_probs)
        return backend.xp.astype(nll, log_probs.dtype, copy=False)

    def backward(self, gy):
        (log_probs,) = self.saved_tensors
        return gy.reshape(1, -1, 1) * _FirstOrderOnly(self.gradient)(log_probs)

    def _extended_labels(self, n):
        """(N, L) blank-interleaved labels, where each position is inside its sample's
        2 S + 1, and where the skip from s - 2 is allowed."""
        xp = backend.xp
        width = 2 * (self.targets.shape[1] if self.targets.ndim == 2 else 0) + 1
        extended = xp.full((n, width), self.blank, dtype=xp.int64)
        extended[:, 1::2] = self.targets
        positions = xp.arange(width)
        valid = positions[None, :] < (2 * self.target_lengths + 1)[:, None]
        extended = xp.where(valid, extended, self.blank)
        skip = xp.zeros((n, width), dtype=bool)
        skip[:, 2:] = (extended[:, 2:] != self.blank) & (extended[:, 2:] != extended[:, :-2])
        return extended, valid, skip

    def _alpha(self, lp, valid, skip):
        xp = backend.xp
        steps = lp.shape[0]
        alpha = xp.full(lp.shape, _NEG_INF, dtype=lp.dtype)
        alpha[0, :, :2] = lp[0, :, :2]
        alpha[0] = xp.where(valid, alpha[0], _NEG_INF)
        for t in range(1, steps):
            previous = alpha[t - 1]
            skipped = xp.where(skip, _shift(previous, 2), _NEG_INF)
            total = _logsumexp(previous, _shift(previous, 1), skipped) + lp[t]
            alpha[t] = xp.where(valid, total, _NEG_INF)
        return alpha

    def _beta(self, lp, valid, skip):
        """beta_t(s) = logsumexp(beta_{t+1}(s), beta_{t+1}(s+1), [beta_{t+1}(s+2)]) + lp_t(s),
        started at each sample's last frame from its last two positions."""
        xp = backend.xp
        steps, n, width = lp.shape
        beta = xp.full(lp.shape, _NEG_INF, dtype=lp.dtype)
        positions = xp.arange(width)[None, :]
        ends = (2 * self.target_lengths)[:, None]
        start = valid & ((positions == ends) | (positions == ends - 1))
        skip_ahead = _shift(skip, -2, False)               # s -> s + 2 allowed
        following = xp.full((n, width), _NEG_INF, dtype=lp.dtype)
        for t in range(steps - 1, -1, -1):
            skipped = xp.where(skip_ahead, _shift(following, -2), _NEG_INF)
            total = _logsumexp(following, _shift(following, -1), skipped) + lp[t]
            first = (t == self.input_lengths - 1)[:, None]
            inside = (t < self.input_lengths - 1)[:, None]
            beta[t] = xp.where(first & start, lp[t], xp.where(inside & valid, total, _NEG_INF))
            following = beta[t]
        return beta

    def _gradient(self, log_probs, lp, alpha, beta, extended, nll):
        """PyTorch's gradient: exp(lp) minus the alignment posteriors, per class."""
        xp = backend.xp
        steps, n, classes = log_probs.shape
        with _quiet():
            joint = alpha + beta                                        # (T, N, L)
            peak = joint.max(axis=2, keepdims=True)
            peak = xp.where(xp.isneginf(peak), 0.0, peak)
            onehot = (extended[:, :, None] == xp.arange(classes)).astype(lp.dtype)
            summed = xp.einsum("tns,nsc->tnc", xp.exp(joint - peak), onehot)
            log_joint = xp.log(summed) + peak                            # (T, N, C)
            grad = xp.exp(log_probs) - xp.exp(log_joint + nll[None, :, None] - log_probs)
        frames = xp.arange(steps)[:, None] < self.input_lengths[None, :]
        return xp.where(frames[:, :, None], grad, 0.0).astype(log_probs.dtype, copy=False)


class _FirstOrderOnly(Function):
    """CTC's gradient as a function of the log-probabilities, whose own derivative PyTorch
    does not define either: differentiating it again is an error, not a silent zero."""

    def __init__(self, gradient):
        self.gradient = gradient

    def forward(self, log_probs):
        return self.gradient

    def backward(self, gy):
        raise GraphError("ctc_loss: the second derivative is not implemented (as in "
                         "PyTorch): differentiate the loss once only")
