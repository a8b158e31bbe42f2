"""RNN, LSTM, GRU and their single-step cells, with PyTorch's names, layouts and outputs.

Parameters are named ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}`` and, for an LSTM with ``proj_size``, ``weight_hr_l{k}`` (``_reverse``
appended for the backward direction), so a PyTorch state dict loads unchanged. Each
layer-direction is one fused node (xpnn/functional/recurrent.py).
"""
from __future__ import annotations

import math
import warnings

from .. import functional as F
from .._errors import DtypeError, ShapeError
from ..functional.recurrent import GATES, recurrent_layer, zeros_state
from ..functional.recurrent_packed import packed_recurrent_layer
from . import init
from .module import Module, as_input, check_int, new_parameter
from .utils.rnn import PackedSequence


class _DtypeMismatch(DtypeError, ValueError):
    """Input or state dtype unlike the weights': torch raises ValueError for the input of
    RNN/LSTM/GRU and RuntimeError for the rest; this is both, and still a TypeError."""


def _check_dtype(layer, x, weight, what="input"):
    if x.dtype != weight.dtype:
        raise _DtypeMismatch(f"{layer}: {what} dtype {x.dtype} differs from the weights' "
                             f"dtype {weight.dtype}; cast one of them")


class _NotInt(TypeError, ValueError):
    """A size that is not an int: torch's TypeError, and the ValueError xpnn raised."""


def _check_size(layer, arg, value, minimum=1):
    """``check_int``, but a value that is not an int is (also) a TypeError, as torch's."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _NotInt(f"{layer}: {arg} must be an int, got {value!r}")
    return check_int(layer, arg, value, minimum)


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (see those for the arguments)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, *,
                 backend=None, device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        self.mode, self._name = mode, name
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.num_layers = _check_size(name, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got "
                             f"{dropout!r}")
        if dropout > 0 and num_layers == 1:  # torch's warning: the option does nothing here
            warnings.warn(f"{name}: dropout={dropout} has no effect with num_layers=1 "
                          "(dropout is applied after every recurrent layer but the last)",
                          UserWarning, stacklevel=3)
        check_int(name, "proj_size", proj_size, 0)
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is supported by LSTM only, got "
                             f"proj_size={proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) must be smaller than "
                             f"hidden_size ({hidden_size})")
        self.proj_size = proj_size
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        D, G, H = 2 if bidirectional else 1, GATES[mode], hidden_size
        P = proj_size or H  # the size of the hidden state carried between steps
        self._flat_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else P * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (G * H, layer_in)), ("weight_hh", (G * H, P))]
                if bias:
                    shapes += [("bias_ih", (G * H,)), ("bias_hh", (G * H,))]
                if proj_size:
                    shapes.append(("weight_hr", (P, H)))
                names = []
                for base, shape in shapes:
                    setattr(self, base + sfx, new_parameter(shape, backend, device, dtype))
                    names.append(base + sfx)
                self._flat_names.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's init: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """A no-op kept for PyTorch compatibility (cuDNN weight packing has no analogue)."""

    def _weights(self, k):
        return [getattr(self, n) for n in self._flat_names[k]]

    @property
    def all_weights(self):
        """The parameters per layer-direction, in PyTorch's order: [[weight_ih_l0,
        weight_hh_l0, bias_ih_l0, bias_hh_l0(, weight_hr_l0)], [..._l0_reverse], ...]."""
        return [self._weights(k) for k in range(len(self._flat_names))]

    def forward(self, input, hx=None):
        """Run the stack over a sequence.

        Args:
            input: (T, N, input_size), (N, T, input_size) with batch_first, or unbatched
                (T, input_size).
            hx: initial hidden state (num_layers * D, N, H) (unbatched: (num_layers * D, H));
                for LSTM a pair (h_0, c_0) of that shape; None means zeros. With proj_size
                P, h_0 is (num_layers * D, N, P).
        Returns:
            output (T, N, D * H) (batch_first: (N, T, D * H)) and h_n (num_layers * D, N, H),
            for LSTM (output, (h_n, c_n)), exactly as PyTorch returns them (P instead of H
            for output and h_n with proj_size). A :class:`PackedSequence` input gives a
            packed output (see :meth:`_packed`).
        """
        if isinstance(input, PackedSequence):
            return self._packed(input, hx)
        x = as_input(input)
        name, lstm = self._name, self.mode == "LSTM"
        if x.ndim not in (2, 3):
            raise ShapeError(f"{name}: expected a 3-D (batched) or 2-D (unbatched) input, got "
                             f"shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input of shape {x.shape} has feature size "
                             f"{x.shape[-1]}, expected input_size={self.input_size}")
        _check_dtype(name, x, self.weight_ih_l0)
        batched = x.ndim == 3
        if not batched:
            x = F.unsqueeze(x, 1)
        elif self.batch_first:
            x = F.transpose(x, 0, 1)
        T, N = x.shape[0], x.shape[1]
        if T == 0:
            raise ShapeError(f"{name}: the sequence is empty (input shape {input.shape})")
        D = 2 if self.bidirectional else 1
        h0, c0 = self._initial_states(hx, tuple(input.shape), N, batched, D, x)
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                state = (h0[k], c0[k]) if lstm else h0[k]
                res = recurrent_layer(self.mode, x, state, self._weights(k), reverse=d == 1,
                                      proj=self.proj_size > 0)
                outs.append(res[0])
                hs.append(res[1])
                if lstm:
                    cs.append(res[2])
            x = outs[0] if D == 1 else F.concat(outs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        h_n = F.stack(hs, axis=0)
        c_n = F.stack(cs, axis=0) if lstm else None
        if not batched:
            x = F.squeeze(x, 1)
            h_n = F.squeeze(h_n, 1)
            c_n = F.squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            x = F.transpose(x, 0, 1)
        return (x, (h_n, c_n)) if lstm else (x, h_n)

    def _packed(self, packed, hx):
        """``forward`` over a PackedSequence as PyTorch runs it: one pass per layer and
        direction whose batch shrinks as sequences end (``batch_sizes``), so every sequence
        stops at its end and h_n (c_n) holds its last step
        (xpnn/functional/recurrent_packed.py); the output is packed as the input, h_n in
        the batch order the input was packed from (hx too)."""
        name, lstm = self._name, self.mode == "LSTM"
        x = as_input(packed.data)
        if x.ndim != 2 or x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: a PackedSequence's data must be (sum of lengths, "
                             f"input_size={self.input_size}), got shape {x.shape}")
        _check_dtype(name, x, self.weight_ih_l0)
        sizes = [int(v) for v in packed.batch_sizes.numpy()]
        D = 2 if self.bidirectional else 1
        h0, c0 = self._initial_states(hx, tuple(x.shape), sizes[0], True, D, x)
        if hx is not None and packed.sorted_indices is not None:  # to the sorted order
            h0 = [F.index_select(s, 0, packed.sorted_indices) for s in h0]
            c0 = [F.index_select(s, 0, packed.sorted_indices) for s in c0] if lstm else h0
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                res = packed_recurrent_layer(self.mode, x, sizes,
                                             (h0[k], c0[k]) if lstm else h0[k],
                                             self._weights(k), reverse=d == 1,
                                             proj=self.proj_size > 0)
                outs.append(res[0])
                hs.append(res[1])
                if lstm:
                    cs.append(res[2])
            x = outs[0] if D == 1 else F.concat(outs, axis=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        out = PackedSequence(x, packed.batch_sizes, packed.sorted_indices,
                             packed.unsorted_indices)
        states = [F.stack(hs, axis=0)] + ([F.stack(cs, axis=0)] if lstm else [])
        if packed.unsorted_indices is not None:  # back to the order packed from
            states = [F.index_select(s, 1, packed.unsorted_indices) for s in states]
        return (out, tuple(states)) if lstm else (out, states[0])

    def _initial_states(self, hx, in_shape, N, batched, D, like):
        """Per layer-direction (N, H) initial states; zeros (no graph) when hx is None."""
        name, L, H = self._name, self.num_layers * D, self.hidden_size
        P = self.proj_size or H
        lstm = self.mode == "LSTM"
        if hx is None:
            h, c = zeros_state(like, N, P), zeros_state(like, N, H)
            return [h] * L, [c] * L
        if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{name}: hx must be a pair (h_0, c_0), got {type(hx).__name__}")
        states = list(hx) if lstm else [hx]
        out = []
        for which, s, size in zip(("h_0", "c_0"), states, (P, H)):
            want = (L, N, size) if batched else (L, size)
            s = as_input(s)
            if s.shape != want:
                size_name = "proj_size" if size != H else "hidden_size"
                raise ShapeError(f"{name}: {which} has shape {s.shape}, expected {want} "
                                 f"(num_layers * num_directions, batch, {size_name}) for an "
                                 f"input of shape {in_shape}")
            _check_dtype(name, s, self.weight_ih_l0, which)
            if not batched:
                s = F.unsqueeze(s, 1)
            out.append([s[k, ...] for k in range(L)])
        return out[0], (out[1] if lstm else out[0])

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                             ("bidirectional", False)):
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu.

    Args:
        input_size, hidden_size, num_layers: ints >= 1.
        nonlinearity: "tanh" or "relu".
        bias: learn b_ih and b_hh.
        batch_first: input/output are (N, T, F) instead of (T, N, F) (h_n is not affected).
        dropout: dropout on the outputs of every layer but the last (training mode only).
        bidirectional: also run the sequence backwards and concatenate the two outputs.
        backend, device, dtype: where the parameters live.
    Shapes: see :meth:`RNNBase.forward`; forward returns (output, h_n).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, **kw):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         **kw)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's gate order (i, f, g, o); arguments as :class:`RNN`
    (no nonlinearity), plus proj_size: if > 0 (and < hidden_size), each step's hidden state
    is projected to that size by ``weight_hr_l{k}`` (proj_size, hidden_size) (Sak et al.
    2014), so output and h_n have proj_size features. forward returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, **kw):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, **kw)


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's gate order (r, z, n); arguments as :class:`RNN`
    (no nonlinearity). forward returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, **kw):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, **kw)


class RNNCellBase(Module):
    """One time step; parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(self, mode, input_size, hidden_size, bias=True, *, backend=None, device=None,
                 dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNNCell", "RNN_RELU": "RNNCell"}.get(mode, mode + "Cell")
        self.mode, self._name = mode, name
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        G, H = GATES[mode], hidden_size
        self.weight_ih = new_parameter((G * H, input_size), backend, device, dtype)
        self.weight_hh = new_parameter((G * H, H), backend, device, dtype)
        self.bias_ih = new_parameter((G * H,), backend, device, dtype) if bias else None
        self.bias_hh = new_parameter((G * H,), backend, device, dtype) if bias else None
        bound = 1 / math.sqrt(H)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        """Args: input (N, input_size) or (input_size,); hx (N, H) or (H,) (LSTM: a pair),
        None for zeros. Returns h' (N, H) (LSTMCell: (h', c'))."""
        x = as_input(input)
        name, H, lstm = self._name, self.hidden_size, self.mode == "LSTM"
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {x.shape}")
        _check_dtype(name, x, self.weight_ih)
        batched = x.ndim == 2
        x = F.unsqueeze(x if batched else F.unsqueeze(x, 0), 0)  # (1, N, I): T = 1
        N = x.shape[1]
        if hx is None:
            zero = zeros_state(x, N, H)
            states = [zero, zero] if lstm else [zero]
        else:
            if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"{name}: hx must be a pair (h, c), got {type(hx).__name__}")
            states = [as_input(s) for s in (hx if lstm else [hx])]
            want = (N, H) if batched else (H,)
            for s in states:
                if s.shape != want:
                    raise ShapeError(f"{name}: hidden state of shape {s.shape}, expected "
                                     f"{want} for an input of shape {input.shape}")
                _check_dtype(name, s, self.weight_ih, "hidden state")
            if not batched:
                states = [F.unsqueeze(s, 0) for s in states]
        weights = [self.weight_ih, self.weight_hh] + (
            [self.bias_ih, self.bias_hh] if self.bias else [])
        res = recurrent_layer(self.mode, x, tuple(states) if lstm else states[0], weights)
        out = res[1:] if lstm else res[1:2]
        if not batched:
            out = tuple(F.squeeze(o, 0) for o in out)
        return tuple(out) if lstm else out[0]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh); nonlinearity "tanh" or "relu"."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", **kw):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, bias, **kw)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    """One LSTM step; forward(input, (h, c)) returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, **kw):
        super().__init__("LSTM", input_size, hidden_size, bias, **kw)


class GRUCell(RNNCellBase):
    """One GRU step; forward(input, h) returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, **kw):
        super().__init__("GRU", input_size, hidden_size, bias, **kw)
