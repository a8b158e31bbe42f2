"""MultiheadAttention and positional encodings (the Transformer stacks are in transformer.py).

Names and layouts are torch.nn's (``in_proj_weight`` (3E, E), ``in_proj_bias``,
``out_proj.weight/bias``), so a PyTorch state dict loads unchanged. Mask conventions are
torch's MHA ones: a bool ``attn_mask``/``key_padding_mask`` marks positions that may NOT be
attended (the opposite of scaled_dot_product_attention's), a float mask is added to the
scores.
"""
from __future__ import annotations

import math

from .. import functional as F
from .._errors import DtypeError, ShapeError
from ..tensor import Tensor
from ..functional.attention import check_mask, scaled_dot_product_attention
from ..functional.mha import multi_head_attention_forward, same_type_masks
from ..functional.sdpa_backends import SDPBackend, sdpa_kernel  # noqa: F401  torch.nn.attention
from . import init
from .dropout import Dropout
from .linear import Linear
from .module import Module, as_input, check_int, new_parameter, placement


def _as_mask(m):
    return as_input(m)


class _ShapeAssert(ShapeError, AssertionError):
    """A shape MultiheadAttention refuses: torch checks most with ``assert``."""


class _DtypeAssert(DtypeError, AssertionError):
    """A mask dtype MultiheadAttention refuses (torch: AssertionError)."""


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017, sec. 3.2.2) with torch's parameters.

    Args:
        embed_dim: model width E; num_heads: h, must divide E.
        dropout: dropout on the attention weights (training mode only).
        bias: learn in_proj_bias and out_proj.bias.
        add_bias_kv: learn ``bias_k`` and ``bias_v`` (1, 1, E), appended to the projected
            keys and values as one more key (torch's; masks get an allowed column).
        add_zero_attn: append an all-zero key and value per head (after bias_k/bias_v).
        kdim, vdim: key/value widths when they differ from E (then the projections are
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``).
        batch_first: inputs/outputs (N, L, E) instead of (L, N, E).
        backend, device, dtype: where the parameters live.

    A query that may attend no key at all (every key of its sample masked) gets all-zero
    attention weights, so its attention output is ``out_proj.bias``. PyTorch gives the same
    output with ``need_weights=False`` in training, but NaN weights and outputs with
    ``need_weights=True`` (and in its eval fast path); xpnn keeps zeros in every mode, so one
    fully padded sample cannot turn a whole batch's loss and gradients into NaN.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, *,
                 backend=None, device=None, dtype=None):
        super().__init__()
        name = "MultiheadAttention"
        self.embed_dim = check_int(name, "embed_dim", embed_dim)
        self.num_heads = check_int(name, "num_heads", num_heads)
        if embed_dim % num_heads:
            raise _ShapeAssert(f"{name}: embed_dim ({embed_dim}) must be divisible by "
                               f"num_heads ({num_heads})")
        if isinstance(dropout, bool) or not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}")
        self.kdim = embed_dim if kdim is None else check_int(name, "kdim", kdim)
        self.vdim = embed_dim if vdim is None else check_int(name, "vdim", vdim)
        self.head_dim, self.dropout = embed_dim // num_heads, float(dropout)
        self.batch_first = bool(batch_first)
        self._same = self.kdim == embed_dim and self.vdim == embed_dim
        E, kw = embed_dim, dict(backend=backend, device=device, dtype=dtype)
        # the layout not taken is registered as None, as torch does, so that reading
        # in_proj_weight (or q_proj_weight) gives None rather than an AttributeError
        if self._same:
            self.in_proj_weight = new_parameter((3 * E, E), **kw)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = new_parameter((E, E), **kw)
            self.k_proj_weight = new_parameter((E, self.kdim), **kw)
            self.v_proj_weight = new_parameter((E, self.vdim), **kw)
            self.register_parameter("in_proj_weight", None)
        self.in_proj_bias = new_parameter((3 * E,), **kw) if bias else None
        if add_bias_kv:  # registered after in_proj_bias: torch's state_dict order
            self.bias_k = new_parameter((1, 1, E), **kw)
            self.bias_v = new_parameter((1, 1, E), **kw)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, **kw)
        self._reset_parameters()

    def _reset_parameters(self):
        """torch's init: xavier_uniform on the input projection(s), zero biases."""
        if self._same:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query, key, value):
        """q, k, v = input projections; one GEMM when it is self-attention."""
        E, b = self.embed_dim, self.in_proj_bias
        if self._same and query is key and key is value:
            qkv = F.linear(query, self.in_proj_weight, b)
            return tuple(qkv[..., i * E:(i + 1) * E] for i in range(3))
        if self._same:
            ws = [self.in_proj_weight[i * E:(i + 1) * E, :] for i in range(3)]
        else:
            ws = [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight]
        bs = [None] * 3 if b is None else [b[i * E:(i + 1) * E] for i in range(3)]
        return tuple(F.linear(x, w, bb) for x, w, bb in zip((query, key, value), ws, bs))

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Attend from query to key/value.

        Args:
            query (L, N, E), key (S, N, kdim), value (S, N, vdim) (batch_first: N first;
                unbatched: no N).
            key_padding_mask: (N, S) (unbatched (S,)); bool True = padding, or float added.
            need_weights: also return the attention weights.
            attn_mask: (L, S) or (N * num_heads, L, S); bool True = not allowed, or float.
            average_attn_weights: average the returned weights over heads.
            is_causal: with no attn_mask, mask future keys (a causal mask is built).
        Returns:
            (output (L, N, E) or batch_first (N, L, E), weights (N, L, S) averaged or
            (N, num_heads, L, S), or None when need_weights is False).
        """
        name = "MultiheadAttention"
        q, k, v = as_input(query), as_input(key), as_input(value)
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise _ShapeAssert(f"{name}: query, key, value must all be 3-D (batched) or "
                               f"2-D (unbatched), got shapes {q.shape}, {k.shape}, {v.shape}")
        if q.shape[-1] != self.embed_dim or k.shape[-1] != self.kdim or \
                v.shape[-1] != self.vdim:
            raise _ShapeAssert(f"{name}: feature sizes of query {q.shape}, key {k.shape}, "
                               f"value {v.shape} must be (embed_dim={self.embed_dim}, "
                               f"kdim={self.kdim}, vdim={self.vdim})")
        if q.dtype != self.out_proj.weight.dtype:
            raise DtypeError(f"{name}: input dtype {q.dtype} differs from the weights' dtype "
                             f"{self.out_proj.weight.dtype}")
        batched = q.ndim == 3
        key_padding_mask, attn_mask = same_type_masks(key_padding_mask, "key_padding_mask",
                                                      attn_mask, "attn_mask", q)
        if self.bias_k is not None or self.add_zero_attn:
            return self._forward_extra_keys(q, k, v, key_padding_mask, need_weights,
                                            attn_mask, average_attn_weights, is_causal)
        same = query is key and key is value
        if not batched:
            q, k, v = (F.unsqueeze(t, 0) for t in (q, k, v))
        elif not self.batch_first:
            q, k, v = (F.transpose(t, 0, 1) for t in (q, k, v))
        if same:
            k = v = q
        N, L, S = q.shape[0], q.shape[1], k.shape[1]
        if k.shape[:2] != (N, S) or v.shape[:2] != (N, S):
            raise _ShapeAssert(f"{name}: key {key.shape} and value {value.shape} must share "
                               f"batch and sequence sizes that fit query {query.shape}")
        h, d = self.num_heads, self.head_dim
        mask = self._merge_masks(key_padding_mask, attn_mask, is_causal, N, L, S, q, batched)
        q, k, v = self._project(q, k, v)
        q, k, v = (F.permute(F.reshape(t, (N, t.shape[1], h, d)), (0, 2, 1, 3))
                   for t in (q, k, v))
        res = scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            need_weights=need_weights)
        out, weights = res if need_weights else (res, None)
        out = self.out_proj(F.reshape(F.permute(out, (0, 2, 1, 3)), (N, L, h * d)))
        if weights is not None and average_attn_weights:
            weights = F.mean(weights, axis=1)
        if not batched:
            out = F.squeeze(out, 0)
            weights = None if weights is None else F.squeeze(weights, 0)
        elif not self.batch_first:
            out = F.transpose(out, 0, 1)
        return out, weights

    def _forward_extra_keys(self, q, k, v, kpm, need_weights, attn_mask, average, is_causal):
        """add_bias_kv / add_zero_attn: torch's functional form appends the extra keys (and
        a column to each mask); the inputs are already checked."""
        if q.ndim == 3 and self.batch_first:
            q, k, v = (F.transpose(t, 0, 1) for t in (q, k, v))
        if is_causal and attn_mask is None:  # the module's leniency: build the mask
            L, S = q.shape[0], k.shape[0]
            attn_mask = Tensor(q.xp.arange(L, device=q.device)[:, None] <
                               q.xp.arange(S, device=q.device)[None, :], _be=q._be)
        sep = not self._same
        out, weights = multi_head_attention_forward(
            q, k, v, self.embed_dim, self.num_heads, None if sep else self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=kpm, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=sep,
            q_proj_weight=self.q_proj_weight if sep else None,
            k_proj_weight=self.k_proj_weight if sep else None,
            v_proj_weight=self.v_proj_weight if sep else None,
            average_attn_weights=average, is_causal=is_causal and attn_mask is not None)
        if q.ndim == 3 and self.batch_first:
            out = F.transpose(out, 0, 1)
        return out, weights

    def _merge_masks(self, kpm, attn_mask, is_causal, N, L, S, q, batched):
        """One mask in scaled_dot_product_attention's convention, shaped to (N, h, L, S)."""
        name, h, xp = "MultiheadAttention", self.num_heads, q.xp
        kpm, attn_mask = _as_mask(kpm), _as_mask(attn_mask)
        parts = []
        if kpm is not None:
            want = (N, S) if batched else (S,)
            _check_mask(name, kpm, q.dtype, (want,), "key_padding_mask")
            parts.append(F.reshape(kpm, (N, 1, 1, S)))
        if attn_mask is not None:
            _check_mask(name, attn_mask, q.dtype, ((L, S), (N * h, L, S)), "attn_mask")
            parts.append(attn_mask if attn_mask.ndim == 2 else
                         F.reshape(attn_mask, (N, h, L, S)))
        elif is_causal:  # one constant (L, S) triangle: blocked where the key comes later
            parts.append(Tensor(xp.arange(L, device=q.device)[:, None] <
                                xp.arange(S, device=q.device)[None, :], _be=q._be))
        if not parts:
            return None
        # written with tensor ops, not on raw arrays, so that exporters can trace them
        if all(p.dtype == xp.bool for p in parts):
            blocked = parts[0]
            for p in parts[1:]:
                blocked = F.logical_or(blocked, p)
            return F.logical_not(blocked)
        total = None
        for p in parts:  # a bool "blocked" mask becomes -inf where blocked
            if p.dtype == xp.bool:
                neg = Tensor(xp.asarray(-float("inf"), dtype=q.dtype, device=q.device),
                             _be=q._be)
                p = F.where(p, neg, 0.0)
            total = p if total is None else total + p
        return total


def _check_mask(name, mask, dtype, shapes, arg):
    """check_mask, raising torch's AssertionError (still a ShapeError / DtypeError)."""
    try:
        check_mask(name, mask, dtype, shapes=shapes, arg=arg)
    except ShapeError as e:
        raise _ShapeAssert(str(e)) from None
    except DtypeError as e:
        raise _DtypeAssert(str(e)) from None


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for MultiheadAttention's ``out_proj`` (a marker class
    there, for its quantization tools), so that ``print(model)`` reads as PyTorch's."""


def _add_positions(name, x, pe, batch_first):
    """x + pe[:T] broadcast over the batch axis, whichever layout x has."""
    if x.ndim not in (2, 3):
        raise ValueError(f"{name}: input must be (T, E), (T, N, E) or batch_first (N, T, E), "
                         f"got shape {x.shape}")
    T = x.shape[1] if (x.ndim == 3 and batch_first) else x.shape[0]
    if T > pe.shape[0] or x.shape[-1] != pe.shape[1]:
        raise ValueError(f"{name}: input of shape {x.shape} needs positions up to {T} and "
                         f"width {x.shape[-1]}; the table is {tuple(pe.shape)} (max_len, d_model)")
    rows = pe[:T, :]
    if x.ndim == 3:
        rows = F.unsqueeze(rows, 0 if batch_first else 1)
    return x + rows


class SinusoidalPositionalEncoding(Module):
    """Adds PE(t, 2i) = sin(t / 10000^(2i/d)), PE(t, 2i+1) = cos(...) (Vaswani et al. 2017,
    sec. 3.5), then dropout. The table is a non-persistent buffer (recomputed, not saved).

    Args:
        d_model: width (int >= 1); max_len: longest sequence; dropout: after the addition.
        batch_first: inputs are (N, T, E) instead of (T, N, E).
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, *, backend=None,
                 device=None, dtype=None):
        super().__init__()
        check_int("SinusoidalPositionalEncoding", "d_model", d_model)
        check_int("SinusoidalPositionalEncoding", "max_len", max_len)
        be, dt = placement(backend, device, dtype)
        xp = be.xp
        pos = xp.arange(max_len, dtype=dt, device=be.device)[:, None]
        freq = xp.exp(xp.arange(0, d_model, 2, dtype=dt, device=be.device) *
                      (-math.log(10000.0) / d_model))
        pe = xp.zeros((max_len, d_model), dtype=dt, device=be.device)
        pe[:, 0::2] = xp.sin(pos * freq)
        pe[:, 1::2] = xp.cos(pos * freq[:d_model // 2])
        self.register_buffer("pe", pe, persistent=False)
        self.dropout, self.batch_first = Dropout(dropout), bool(batch_first)

    def forward(self, input):
        input = as_input(input)
        pe = self.pe
        return self.dropout(_add_positions("SinusoidalPositionalEncoding", input, pe,
                                           self.batch_first))


class LearnedPositionalEncoding(Module):
    """Adds a learned vector per position (``weight`` (max_len, d_model), N(0, 0.02) init,
    as GPT-2), then dropout. Args as SinusoidalPositionalEncoding."""

    def __init__(self, d_model, max_len=512, dropout=0.0, batch_first=False, *, backend=None,
                 device=None, dtype=None):
        super().__init__()
        check_int("LearnedPositionalEncoding", "d_model", d_model)
        check_int("LearnedPositionalEncoding", "max_len", max_len)
        self.weight = new_parameter((max_len, d_model), backend, device, dtype)
        init.normal_(self.weight, 0.0, 0.02)
        self.dropout, self.batch_first = Dropout(dropout), bool(batch_first)

    def forward(self, input):
        return self.dropout(_add_positions("LearnedPositionalEncoding", as_input(input),
                                           self.weight, self.batch_first))
