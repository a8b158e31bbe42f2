"""Transformer, its encoder and decoder stacks and their layers (Vaswani et al. 2017).

Arguments, defaults, forward signatures and submodule names are torch.nn's (``self_attn``,
``multihead_attn``, ``linear1``, ``linear2``, ``norm1..3``, ``layers.{i}``, ``encoder.norm``,
``decoder.norm``), so a PyTorch state dict loads unchanged and gives the same outputs.
Masks follow MultiheadAttention (nn/attention.py): bool True = may NOT attend, a float
mask is added to the scores. The ``*_is_causal`` flags are hints in PyTorch; here a given
mask is always used as it is, and a flag set with no mask builds the causal mask.
Split from attention.py when the decoder and Transformer pushed that file past ~400 lines.
"""
from __future__ import annotations

import copy

from .. import functional as F
from .._errors import ArgumentError, ShapeError
from ..tensor import Tensor
from . import init
from ..functional.mha import same_type_masks
from .attention import MultiheadAttention, _ShapeAssert
from .dropout import Dropout
from .linear import Linear
from .module import Module, as_input, check_int, placement
from .sequential import ModuleList
from .norm import LayerNorm

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(layer, activation):
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ArgumentError(f"{layer}: activation must be 'relu', 'gelu' or a callable, "
                                f"got {activation!r}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise ValueError(f"{layer}: activation must be 'relu', 'gelu' or a callable, got "
                         f"{activation!r}")
    return activation


def _check_rank(layer, arg, x):
    if x.ndim not in (2, 3):
        raise _ShapeAssert(f"{layer}: {arg} must be 3-D (batched) or 2-D (unbatched), got "
                           f"shape {x.shape}")
    return x


class _Block(Module):
    """Shared by the encoder and decoder layers: the feed-forward block and arguments."""

    def __init__(self, name, d_model, nhead, dim_feedforward, dropout, activation,
                 layer_norm_eps, batch_first, norm_first, bias, n_norms, kw):
        super().__init__()
        check_int(name, "dim_feedforward", dim_feedforward)
        act = _activation(name, activation)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        if n_norms == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                     bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = bool(norm_first)
        for i in range(1, n_norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in range(1, n_norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = act
        self._ff_dropout = f"dropout{n_norms}"  # after the feed-forward block, as torch

    def _sa_block(self, x, mask, kpm, is_causal):
        out = self.self_attn(x, x, x, key_padding_mask=kpm, attn_mask=mask,
                             need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout1(out)

    def _ff_block(self, x):
        out = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ff_dropout)(out)


class TransformerEncoderLayer(_Block):
    """Self-attention then a feed-forward block, each residual (Vaswani et al. 2017).

    Args:
        d_model: width; nhead: heads (must divide d_model).
        dim_feedforward: hidden width of the feed-forward block.
        dropout: after attention, inside and after the feed-forward block.
        activation: "relu", "gelu" or a callable on Tensors (default F.relu).
        layer_norm_eps: LayerNorm epsilon.
        batch_first: (N, S, E) instead of (S, N, E).
        norm_first: pre-norm (x + f(norm(x))) instead of post-norm (norm(x + f(x))).
        bias: biases in the linear layers and LayerNorms.
        backend, device, dtype: where the parameters live.
    Shapes: src (S, N, E) / (N, S, E) / (S, E) -> same shape.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, *,
                 backend=None, device=None, dtype=None):
        super().__init__("TransformerEncoderLayer", d_model, nhead, dim_feedforward, dropout,
                         activation, layer_norm_eps, batch_first, norm_first, bias, 2,
                         dict(backend=backend, device=device, dtype=dtype))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """Args: src; src_mask (S, S) or (N*nhead, S, S); src_key_padding_mask (N, S) (or
        (S,) unbatched); is_causal: with no src_mask, mask future positions. Returns a
        Tensor shaped like src."""
        x = _check_rank("TransformerEncoderLayer", "src", as_input(src))
        src_key_padding_mask, src_mask = same_type_masks(
            src_key_padding_mask, "src_key_padding_mask", src_mask, "src_mask", x)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_Block):
    """Masked self-attention, attention over the encoder's memory, then a feed-forward
    block, each residual (Vaswani et al. 2017, fig. 1). Arguments as
    :class:`TransformerEncoderLayer`; norm_first applies norm1..norm3 before each block.

    Shapes: tgt (T, N, E) / (N, T, E) / (T, E), memory (S, N, E) / (N, S, E) / (S, E) ->
    shaped like tgt.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, *,
                 backend=None, device=None, dtype=None):
        super().__init__("TransformerDecoderLayer", d_model, nhead, dim_feedforward, dropout,
                         activation, layer_norm_eps, batch_first, norm_first, bias, 3,
                         dict(backend=backend, device=device, dtype=dtype))

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """Args:
            tgt, memory: the decoder input and the encoder output.
            tgt_mask (T, T) or (N*nhead, T, T); memory_mask (T, S) or (N*nhead, T, S).
            tgt_key_padding_mask (N, T); memory_key_padding_mask (N, S).
            tgt_is_causal, memory_is_causal: with no matching mask, a causal one is used.
        Returns a Tensor shaped like tgt."""
        name = "TransformerDecoderLayer"
        x = _check_rank(name, "tgt", as_input(tgt))
        mem = _check_rank(name, "memory", as_input(memory))
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), mem, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, mem, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _mha_block(self, x, mem, mask, kpm, is_causal):
        out = self.multihead_attn(x, mem, mem, key_padding_mask=kpm, attn_mask=mask,
                                  need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout2(out)


def _clones(name, layer, num_layers):
    """``num_layers`` deep copies of ``layer`` (weights included, as torch's stacks start)."""
    check_int(name, "num_layers", num_layers)
    if not isinstance(layer, Module):
        raise TypeError(f"{name}: the layer must be a Module, got {type(layer).__name__}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer``, then an optional ``norm``.

    Args:
        encoder_layer: a TransformerEncoderLayer (or any Module with its forward signature),
            deep-copied (weights included) num_layers times.
        num_layers: int >= 1.
        norm: a final Module (e.g. LayerNorm), or None.
        enable_nested_tensor, mask_check: accepted for PyTorch compatibility (no nested
            tensors here; masks are always checked).
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones("TransformerEncoder", encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """Args as TransformerEncoderLayer.forward (``mask`` is src_mask)."""
        x = as_input(src)
        src_key_padding_mask, mask = same_type_masks(src_key_padding_mask,
                                                     "src_key_padding_mask", mask, "mask", x)
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, then an optional ``norm``.

    Args: decoder_layer (deep-copied num_layers times), num_layers, norm: as
    :class:`TransformerEncoder`.
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones("TransformerDecoder", decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        """Args as TransformerDecoderLayer.forward."""
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """Encoder-decoder Transformer (Vaswani et al. 2017) with torch.nn.Transformer's arguments.

    Args:
        d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
            norm_first, bias: as :class:`TransformerEncoderLayer`, for both stacks.
        num_encoder_layers, num_decoder_layers: the stack depths.
        custom_encoder, custom_decoder: Modules to use instead of the built stacks.
        backend, device, dtype: where the parameters live.
    Each built stack ends with a LayerNorm (``encoder.norm``, ``decoder.norm``); every
    parameter with 2 or more dims is re-drawn from xavier_uniform, as torch does.
    Shapes: src (S, N, E), tgt (T, N, E) (batch_first: N first; unbatched: no N) ->
    (T, N, E).
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
                 norm_first=False, bias=True, *, backend=None, device=None, dtype=None):
        super().__init__()
        kw = dict(backend=backend, device=device, dtype=dtype)
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*args, **kw), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*args, **kw), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, bool(batch_first)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        """Encode src, then decode tgt attending to the encoding.

        Args:
            src (S, N, E), tgt (T, N, E) (batch_first: N first; unbatched: (S, E), (T, E)).
            src_mask (S, S), tgt_mask (T, T), memory_mask (T, S) (or with N*nhead first);
            *_key_padding_mask (N, S) / (N, T) / (N, S); bool True = may not attend, or
            float added to the scores.
            src_is_causal, tgt_is_causal, memory_is_causal: with no matching mask, a causal
                mask is used.
        Returns: (T, N, E) (batch_first (N, T, E); unbatched (T, E)).
        """
        s, t = as_input(src), as_input(tgt)
        batched = s.ndim == 3
        if batched and t.ndim == 3:
            axis = 0 if self.batch_first else 1
            if s.shape[axis] != t.shape[axis]:
                raise ShapeError(f"Transformer: the batch sizes of src {s.shape} and tgt "
                                 f"{t.shape} must be equal (batch_first={self.batch_first})")
        if s.shape[-1] != self.d_model or t.shape[-1] != self.d_model:
            raise ShapeError(f"Transformer: the feature sizes of src {s.shape} and tgt "
                             f"{t.shape} must equal d_model={self.d_model}")
        memory = self.encoder(s, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(t, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None, *, backend=None):
        """The (sz, sz) causal float mask: 0 on and below the diagonal, -inf above (position
        i may attend 0..i). On the default backend and float dtype unless given."""
        sz = check_int("Transformer.generate_square_subsequent_mask", "sz", sz, 0)
        be, dt = placement(backend, device, dtype)
        xp = be.xp
        i = xp.arange(sz, device=be.device)
        zero = xp.zeros((sz, sz), dtype=dt, device=be.device)
        return Tensor(xp.where(i[None, :] > i[:, None], -xp.inf, zero), _be=be)
