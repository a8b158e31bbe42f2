"""``multi_head_attention_forward``: the functional core of nn.MultiheadAttention with all of
torch's arguments (separate projection weights, bias_k/bias_v, add_zero_attn, static keys
and values), over :func:`scaled_dot_product_attention` (one fused node for the attention
itself). Masks follow torch's MHA conventions: a bool ``attn_mask``/``key_padding_mask``
marks positions that may NOT be attended, a float one is added to the scores.
"""
from __future__ import annotations

import warnings

from .._errors import ShapeError
from ..autograd import as_tensor
from .attention import check_mask, scaled_dot_product_attention
from .elementwise import logical_not, logical_or, where
from .linalg import linear
from .padding import pad
from .reduce import mean
from .shape import cat, expand, reshape, transpose, unsqueeze, squeeze

_NAME = "multi_head_attention_forward"


class _ShapeAssert(ShapeError, AssertionError):
    """torch checks these shapes with ``assert``."""


def _split3(w, E):
    return None if w is None else tuple(w[i * E:(i + 1) * E] for i in range(3))


def _project(q, k, v, E, in_proj_weight, in_proj_bias, separate, qw, kw, vw):
    """q, k, v projections; one product when query, key and value are the same tensor."""
    bs = _split3(in_proj_bias, E) or (None, None, None)
    if not separate:
        if in_proj_weight is None:
            raise ValueError(f"{_NAME}: in_proj_weight is None with "
                             "use_separate_proj_weight=False")
        if q is k and k is v:
            qkv = linear(q, in_proj_weight, in_proj_bias)
            return tuple(qkv[..., i * E:(i + 1) * E] for i in range(3))
        ws = _split3(in_proj_weight, E)
    else:
        if qw is None or kw is None or vw is None:
            raise ValueError(f"{_NAME}: use_separate_proj_weight=True needs q_proj_weight, "
                             "k_proj_weight and v_proj_weight")
        ws = (qw, kw, vw)
    return tuple(linear(x, w, b) for x, w, b in zip((q, k, v), ws, bs))


def _blocked_float(m, q):
    """A bool "blocked" mask as a float mask: -inf where blocked, 0 elsewhere."""
    xp = q.xp
    if m.dtype != xp.bool:
        return m
    neg = as_tensor(xp.asarray(-float("inf"), dtype=q.dtype, device=q.device), like=q)
    zero = as_tensor(xp.asarray(0.0, dtype=q.dtype, device=q.device), like=q)
    return where(m, neg, zero)


def same_type_masks(mask, name, other, other_name, q):
    """PyTorch's deprecation warning where a key padding mask and an attention mask are both
    given with different dtypes (one bool, one float); the bool one then becomes the float
    mask it stands for (:func:`_blocked_float`, ``q``'s dtype), as in PyTorch's canonical
    masks, so that the layers inside see masks of one type and do not warn again. Returns
    (mask, other), Tensors like ``q`` (or None)."""
    mask = None if mask is None else as_tensor(mask, like=q, op=name)
    other = None if other is None else as_tensor(other, like=q, op=other_name)
    if mask is None or other is None or mask.dtype == other.dtype or \
            not all(m.dtype == q.xp.bool or m.is_floating_point() for m in (mask, other)):
        return mask, other  # (a mask of another dtype is refused by the checks after)
    warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                  "type for both instead.", UserWarning, stacklevel=3)
    return _blocked_float(mask, q), _blocked_float(other, q)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention (Vaswani et al. 2017, sec. 3.2.2), torch's functional form.

    Args:
        query (L, N, E), key (S, N, Ek), value (S, N, Ev); unbatched: no N.
        embed_dim_to_check: E, checked against query; num_heads: h, divides E.
        in_proj_weight (3E, E), in_proj_bias (3E,): the packed input projections (or
            q/k/v_proj_weight with use_separate_proj_weight=True).
        bias_k, bias_v (1, 1, E): appended to the projected keys/values as one more key.
        add_zero_attn: append an all-zero key and value (after bias_k/bias_v).
        dropout_p: dropout on the attention weights when ``training``.
        out_proj_weight (E, E), out_proj_bias (E,): the output projection.
        key_padding_mask (N, S): bool True = padding, or float added.
        need_weights: also return the attention weights.
        attn_mask (L, S) or (N*h, L, S): bool True = not allowed, or float added.
        static_k, static_v (N*h, S, E/h): used as the projected keys/values.
        average_attn_weights: average the returned weights over heads.
        is_causal: a hint that attn_mask is the causal mask (torch requires attn_mask then).
    Returns:
        (output (L, N, E), weights (N, L, S) averaged or (N, h, L, S), or None).
    """
    q = as_tensor(query, op=_NAME)
    k, v = as_tensor(key, like=q, op=_NAME), as_tensor(value, like=q, op=_NAME)
    if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
        raise _ShapeAssert(f"{_NAME}: query, key, value must all be 3-D (batched) or 2-D "
                           f"(unbatched), got shapes {q.shape}, {k.shape}, {v.shape}")
    batched = q.ndim == 3
    same = query is key and key is value
    key_padding_mask, attn_mask = same_type_masks(key_padding_mask, "key_padding_mask",
                                                  attn_mask, "attn_mask", q)
    if not batched:
        q, k, v = (unsqueeze(t, 1) for t in (q, k, v))
        if key_padding_mask is not None:
            key_padding_mask = unsqueeze(as_tensor(key_padding_mask, like=q, op=_NAME), 0)
    if same:
        k = v = q
    L, N, E = q.shape
    if E != embed_dim_to_check:
        raise _ShapeAssert(f"{_NAME}: was expecting embedding dimension of "
                           f"{embed_dim_to_check}, but got {E} (query shape {query.shape})")
    h = int(num_heads)
    if E % h:
        raise _ShapeAssert(f"{_NAME}: embed_dim {E} not divisible by num_heads {h}")
    d = E // h
    if k.shape[:2] != v.shape[:2] or k.shape[1] != N:
        raise _ShapeAssert(f"{_NAME}: key {key.shape} and value {value.shape} must share "
                           f"sequence and batch sizes that fit query {query.shape}")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{_NAME}: need attn_mask if specifying the is_causal hint")
    q, k, v = _project(q, k, v, E, in_proj_weight, in_proj_bias,
                       use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight)
    if attn_mask is not None:
        attn_mask = as_tensor(attn_mask, like=q, op=_NAME)
        check_mask(_NAME, attn_mask, q.dtype, arg="attn_mask")
        S0 = k.shape[0]
        want = (L, S0) if attn_mask.ndim == 2 else (N * h, L, S0)
        if tuple(attn_mask.shape) != want:
            raise _ShapeAssert(f"{_NAME}: attn_mask should have shape {want}, got "
                               f"{tuple(attn_mask.shape)}")
        if attn_mask.ndim == 2:
            attn_mask = unsqueeze(attn_mask, 0)
    if key_padding_mask is not None:
        key_padding_mask = as_tensor(key_padding_mask, like=q, op=_NAME)
        check_mask(_NAME, key_padding_mask, q.dtype, shapes=((N, k.shape[0]),),
                   arg="key_padding_mask")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise _ShapeAssert(f"{_NAME}: bias cannot be added to static key/value")
        k = cat([k, expand(reshape(bias_k, (1, 1, E)), (1, N, E))], 0)
        v = cat([v, expand(reshape(bias_v, (1, 1, E)), (1, N, E))], 0)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif (bias_k is None) != (bias_v is None):
        raise _ShapeAssert(f"{_NAME}: bias_k and bias_v must both be given or both be None")
    # (seq, N, E) -> (N*h, seq, d), torch's head layout (static_k/v come in it)
    q = transpose(reshape(q, (L, N * h, d)), 0, 1)
    heads = []
    for t, static, arg in ((k, static_k, "static_k"), (v, static_v, "static_v")):
        if static is None:
            heads.append(transpose(reshape(t, (t.shape[0], N * h, d)), 0, 1))
            continue
        static = as_tensor(static, like=q, op=_NAME)
        if static.ndim != 3 or static.shape[0] != N * h or static.shape[2] != d:
            raise _ShapeAssert(f"{_NAME}: {arg} must be (N*num_heads, S, head_dim) = "
                               f"({N * h}, S, {d}), got {tuple(static.shape)}")
        heads.append(static)
    k, v = heads
    if add_zero_attn:
        k, v = pad(k, (0, 0, 0, 1)), pad(v, (0, 0, 0, 1))
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    S = k.shape[1]
    if key_padding_mask is not None and key_padding_mask.shape[1] != S:
        raise _ShapeAssert(f"{_NAME}: key_padding_mask covers {key_padding_mask.shape[1]} "
                           f"keys, the keys are {S}")
    mask = _merge(attn_mask, key_padding_mask, q, N, h, L, S)
    q4, k4, v4 = (reshape(t, (N, h, t.shape[1], d)) for t in (q, k, v))
    p = float(dropout_p) if training else 0.0
    res = scaled_dot_product_attention(q4, k4, v4, attn_mask=mask, dropout_p=p,
                                       need_weights=need_weights)
    out, weights = res if need_weights else (res, None)
    out = reshape(transpose(reshape(out, (N * h, L, d)), 0, 1), (L * N, E))
    out = reshape(linear(out, out_proj_weight, out_proj_bias), (L, N, E))
    if weights is not None and average_attn_weights:
        weights = mean(weights, axis=1)
    if not batched:
        out = squeeze(out, 1)
        weights = None if weights is None else squeeze(weights, 0)
    return out, weights


def _merge(attn_mask, kpm, q, N, h, L, S):
    """attn_mask (1 or N*h, L, S) and key_padding_mask (N, S), torch's "blocked" masks, as
    one mask in scaled_dot_product_attention's convention shaped to (N, h, L, S)."""
    parts = []
    if attn_mask is not None:
        parts.append(attn_mask if attn_mask.shape[0] == 1 else
                     reshape(attn_mask, (N, h, L, S)))
    if kpm is not None:
        parts.append(reshape(kpm, (N, 1, 1, S)))
    if not parts:
        return None
    if all(m.dtype == q.xp.bool for m in parts):
        blocked = parts[0]
        for m in parts[1:]:
            blocked = logical_or(blocked, m)
        return logical_not(blocked)
    total = None
    for m in parts:
        m = _blocked_float(m, q)
        total = m if total is None else total + m
    return total
