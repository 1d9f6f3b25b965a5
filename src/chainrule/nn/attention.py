"""nn.MultiheadAttention: PyTorch's layer, parameters (``in_proj_weight`` or
``q/k/v_proj_weight``, ``in_proj_bias``, ``bias_k``/``bias_v``, ``out_proj``), arguments,
masks and initialisation, so that weights load both ways.

The work is :func:`chainrule.ops.attention.multi_head_attention`: with
``need_weights=False`` the attention between the projections is one node
(``ops.attention.AttentionHeads``); with ``need_weights=True`` it is PyTorch's slower path
written with ops, since the weights it returns are differentiable too.
"""
from ..creation import empty_like_shape
from ..errors import ArgumentError
from ..ops.attention import multi_head_attention
from . import init
from .linear import Linear
from .module import Module, on_device
from .parameter import Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's class of ``MultiheadAttention.out_proj``: a Linear under another name."""


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads over ``embed_dim`` features (PyTorch's layer).

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights or None). Inputs are
    (L, N, E), or (N, L, E) with ``batch_first=True``, or unbatched (L, E). In
    ``key_padding_mask`` (N, S) and a bool ``attn_mask`` (L, S) or (N·num_heads, L, S),
    True marks a key that may *not* be attended; float masks are added to the scores.
    ``is_causal=True`` is a hint that ``attn_mask`` is the causal mask.

    >>> import chainrule
    >>> attention = MultiheadAttention(8, 2, batch_first=True)
    >>> x = chainrule.randn(3, 5, 8)
    >>> out, weights = attention(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentError(f"MultiheadAttention: embed_dim and num_heads must be greater "
                                f"than 0, got embed_dim={embed_dim} and num_heads={num_heads}")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ArgumentError(f"MultiheadAttention: embed_dim ({embed_dim}) must be "
                                f"divisible by num_heads ({num_heads})")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty_like_shape((3 * embed_dim, embed_dim), dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty_like_shape((embed_dim, embed_dim), dtype))
            self.k_proj_weight = Parameter(empty_like_shape((embed_dim, self.kdim), dtype))
            self.v_proj_weight = Parameter(empty_like_shape((embed_dim, self.vdim), dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty_like_shape((3 * embed_dim,), dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(empty_like_shape((1, 1, embed_dim), dtype))
            self.bias_v = Parameter(empty_like_shape((1, 1, embed_dim), dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        on_device(self, device)

    def _reset_parameters(self):
        """PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        weights = {"in_proj_weight": self.in_proj_weight, "in_proj_bias": self.in_proj_bias,
                   "q_proj_weight": self.q_proj_weight, "k_proj_weight": self.k_proj_weight,
                   "v_proj_weight": self.v_proj_weight, "bias_k": self.bias_k,
                   "bias_v": self.bias_v, "out_proj_weight": self.out_proj.weight,
                   "out_proj_bias": self.out_proj.bias}
        return multi_head_attention(
            query, key, value, self.embed_dim, self.num_heads, weights, self.add_zero_attn,
            self.dropout if self.training else 0.0, key_padding_mask, need_weights, attn_mask,
            average_attn_weights, is_causal, not self._qkv_same_embed_dim,
            batch_first=self.batch_first)
