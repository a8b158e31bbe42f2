"""Sequences of different lengths for the recurrent layers, as ``torch.nn.utils.rnn``:
``pad_sequence`` (a list to one padded tensor), ``pack_padded_sequence`` /
``pack_sequence`` (a ``PackedSequence``), ``pad_packed_sequence`` (back), and their
``unpad_sequence`` / ``unpack_sequence``.

A ``PackedSequence`` holds PyTorch's layout: ``data`` is the steps one after the other, each
step the sequences still running at it, longest first; ``batch_sizes[t]`` how many run at
step t. The recurrent layers (RNN, LSTM, GRU) take one and return one: one pass per layer
and direction whose batch shrinks to ``batch_sizes[t]`` at step t
(xpnn/functional/recurrent_packed.py), so every sequence stops at its end and its last state
is ``h_n``, as in PyTorch. Everything is differentiable.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import backend as B
from ... import functional as F
from ..._errors import ArgumentError, ShapeError
from ...autograd import TensorBase, as_tensor
from ...tensor import Tensor


class PackedSequence(NamedTuple):
    """data (sum of lengths, *), batch_sizes (max length,) int64 on the host, and the
    permutation to the sorted order and back (None when the input was sorted)."""
    data: TensorBase
    batch_sizes: TensorBase
    sorted_indices: TensorBase | None = None
    unsorted_indices: TensorBase | None = None

    def to(self, *args, **kwargs):
        """The data moved (``Tensor.to``'s forms); the indices stay on the host."""
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self):
        return self.data.is_cuda


def _lengths_of(batch_sizes):
    """Each sorted sequence's length from the batch sizes (host ints)."""
    sizes = np.asarray(batch_sizes)
    return [int((sizes > b).sum()) for b in range(int(sizes[0]))] if sizes.size else []


def _host_lengths(op, lengths, n):
    """``lengths`` (a list, NumPy array or 1-D integer tensor on any backend) as host ints."""
    if isinstance(lengths, TensorBase):
        lengths = lengths.numpy()
    arr = np.asarray(B.to_numpy(lengths) if B.is_array(lengths) else lengths)
    # float lengths are truncated to int64, as torch's
    if arr.ndim != 1 or arr.shape[0] != n or (arr.size and arr.dtype.kind not in "iuf"):
        raise ShapeError(f"{op}: lengths must be {n} integers (one per sequence), got "
                         f"{lengths!r}")
    out = [int(v) for v in arr]
    if any(v <= 0 for v in out):
        raise ShapeError(f"{op}: every length must be >= 1, got {out}")
    return out


def _index(like, values):
    """An int64 index tensor on ``like``'s backend and device."""
    return like._result(like._be.asarray(np.asarray(values, dtype=np.int64)), like._be)


def _filled(like, shape, value):
    """A constant tensor of ``shape`` filled with ``value``, ``like``'s dtype and place."""
    xp, be = like.xp, like._be
    return like._result(xp.full(shape, value, dtype=like.dtype, device=be.device), be)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Tensors of shape (L_i, *) stacked into (max L, B, *) (batch_first: (B, max L, *)),
    each padded with ``padding_value`` on the ``padding_side`` ("right" or "left")."""
    seqs = [as_tensor(s, op="pad_sequence") for s in sequences]
    if not seqs:
        raise ShapeError("pad_sequence: got no sequences")
    if padding_side not in ("right", "left"):
        raise ArgumentError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                            f"{padding_side!r}")
    tail = tuple(seqs[0].shape[1:])
    for i, s in enumerate(seqs):
        if s.ndim < 1 or tuple(s.shape[1:]) != tail:
            raise ShapeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}; every "
                             f"sequence must be (L, *{tail})")
    T = max(s.shape[0] for s in seqs)
    out = []
    for s in seqs:
        n = T - s.shape[0]
        if n:
            pad = _filled(s, (n,) + tail, padding_value)
            s = F.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        out.append(s)
    return F.stack(out, 1 if not batch_first else 0)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """A :class:`PackedSequence` of the padded (T, B, *) (batch_first: (B, T, *)) ``input``
    whose sequence b runs ``lengths[b]`` steps. With ``enforce_sorted`` the lengths must be
    decreasing; otherwise the batch is sorted and the permutation kept."""
    x = as_tensor(input, op="pack_padded_sequence")
    if x.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must be (T, B, *) or (B, T, *), got "
                         f"shape {tuple(x.shape)}")
    if batch_first:
        x = F.transpose(x, 0, 1)
    T, N = x.shape[0], x.shape[1]
    lens = _host_lengths("pack_padded_sequence", lengths, N)
    if max(lens) > T:
        raise ValueError(f"pack_padded_sequence: a length of {max(lens)} for an input of "
                         f"{T} steps (shape {tuple(input.shape)}, batch_first={batch_first})")
    sorted_idx = unsorted_idx = None
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in "
                               f"decreasing order when `enforce_sorted` is True, got {lens}; "
                               "pass enforce_sorted=False to sort them here")
    else:
        order = sorted(range(N), key=lambda b: -lens[b])  # stable, as PyTorch's sort
        sorted_idx = _index(x, order)
        unsorted_idx = _index(x, np.argsort(order))
        x = F.index_select(x, 1, sorted_idx)
        lens = [lens[b] for b in order]
    sizes = [sum(1 for n in lens if n > t) for t in range(lens[0])]
    data = F.cat([x[t, :b] for t, b in enumerate(sizes)], 0)
    return PackedSequence(data, Tensor(np.asarray(sizes, dtype=np.int64)), sorted_idx,
                          unsorted_idx)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(padded (T, B, *) (batch_first: (B, T, *)), lengths (B,) int64 on the host) from a
    :class:`PackedSequence`, in the batch order it was packed from; ``total_length`` pads
    to that many steps."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    data, sizes = sequence.data, [int(v) for v in sequence.batch_sizes.numpy()]
    T, N = len(sizes), sizes[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: total_length {total_length} is shorter "
                             f"than the longest sequence ({T} steps)")
        T = total_length
    tail = tuple(data.shape[1:])
    steps, start = [], 0
    for t in range(T):
        b = sizes[t] if t < len(sizes) else 0
        step = data[start:start + b]
        start += b
        if b < N:
            pad = _filled(data, (N - b,) + tail, padding_value)
            step = F.cat([step, pad], 0) if b else pad
        steps.append(step)
    padded = F.stack(steps, 0)
    lengths = np.asarray(_lengths_of(sizes), dtype=np.int64)
    if sequence.unsorted_indices is not None:
        padded = F.index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.numpy()]
    if batch_first:
        padded = F.transpose(padded, 0, 1)
    return padded, Tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """A :class:`PackedSequence` of a list of (L_i, *) tensors."""
    seqs = list(sequences)
    lengths = [int(as_tensor(s, op="pack_sequence").shape[0]) for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of (L_i, *) tensors of a padded batch (the inverse of pad_sequence)."""
    x = as_tensor(padded_sequences, op="unpad_sequence")
    if not batch_first:
        x = F.transpose(x, 0, 1)
    lens = _host_lengths("unpad_sequence", lengths, x.shape[0])
    return [x[b, :n] for b, n in enumerate(lens)]


def unpack_sequence(packed_sequences):
    """The list of (L_i, *) tensors of a :class:`PackedSequence`, in packing order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]
