"""The recording (PyTorch) and replaying (xpnn) patches of harness.run.

Each ``*_hooks`` function returns context managers (``mock.patch``) that the run enters
around the program. On PyTorch they record, on xpnn they replay:

* the model's initial parameters: at the first call of an outermost module that holds
  parameters (the program's model, at its first forward), PyTorch's are copied out and
  loaded into xpnn's (names and shapes must match; xpnn's own initial values are kept in
  ``Run.params`` for the init comparison);
* dropout masks: ``F.dropout`` on PyTorch (the factor dropout multiplies by, drawn on ones),
  ``dropout_mask`` on xpnn (``xpnn.functional.dropout`` and ``.attention``);
* ``randn`` / ``randn_like`` values the program's own lines ask for;
* ``RandomSampler`` orders (``__iter__`` on PyTorch, ``_indices`` on xpnn);
* ``.item()`` values read by the program's own lines (recorded on both).

Two PyTorch kernels draw their dropout inside C++; for the recording run they are split into
their PyTorch parts (same arithmetic and layout): a multi-layer recurrent ``_VF`` kernel with
dropout runs one layer at a time with ``F.dropout`` between layers (ATen's own loop), and
``F.scaled_dot_product_attention`` with ``dropout_p > 0`` becomes softmax(Q K^T * scale +
mask), ``F.dropout``, @ V (the math path PyTorch's CPU kernel takes).
"""
from __future__ import annotations

import importlib
import math
import sys
from unittest import mock

import numpy as np


class ReplayError(AssertionError):
    """The xpnn run asked for a random draw the PyTorch run did not make (or another one)."""


def _is_program_frame(frame, roots):
    name = frame.f_code.co_filename
    return any(name.startswith(r) for r in roots)


def item_hook(cls, run, roots):
    """``cls.item`` that also appends the value to ``run.items`` when the caller is a line of
    the program (library code calling ``.item()`` is not the program's reading)."""
    orig = cls.item

    def item(self):
        value = orig(self)
        if _is_program_frame(sys._getframe(1), roots):
            run.items.append(value)
        return value
    return mock.patch.object(cls, "item", item)


def _first_model_hook(module_cls, on_first):
    """``module_cls.__call__`` that calls ``on_first(module)`` before the first call of an
    outermost module that holds parameters (the program's model, at its first forward)."""
    orig = module_cls.__call__
    state = {"depth": 0, "done": False}

    def __call__(self, *args, **kwargs):
        if state["depth"] == 0 and not state["done"] and \
                next(iter(self.parameters()), None) is not None:
            state["done"] = True
            on_first(self)
        state["depth"] += 1
        try:
            return orig(self, *args, **kwargs)
        finally:
            state["depth"] -= 1
    return mock.patch.object(module_cls, "__call__", __call__)


def torch_hooks(run, roots):
    """The patches of the recording run on PyTorch."""
    import torch
    import torch.nn.functional as F
    import torch.nn.modules.rnn as rnn_mod
    import torch.utils.data as tud

    tape = run.tape
    orig_dropout = F.dropout

    def dropout(input, p=0.5, training=True, inplace=False):
        if not training or p == 0 or p == 1:
            return orig_dropout(input, p, training, inplace)
        # PyTorch's dropout is input * (bernoulli(1 - p) / (1 - p)): the same draw on ones
        # gives that factor, so the product below is bit for bit what dropout returns
        factor = orig_dropout(torch.ones_like(input), p, True, False)
        tape.append(("dropout", float(p), (factor != 0).cpu().numpy()))
        return input.mul_(factor) if inplace else input * factor

    orig_sdpa = F.scaled_dot_product_attention

    def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
             enable_gqa=False):
        if dropout_p == 0.0:
            return orig_sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale=scale,
                             enable_gqa=enable_gqa)
        if enable_gqa or (is_causal and attn_mask is not None):
            raise NotImplementedError("harness: sdpa with dropout and enable_gqa, or with "
                                      "both is_causal and attn_mask")
        s = 1 / math.sqrt(query.size(-1)) if scale is None else scale
        w = query @ key.transpose(-2, -1) * s
        if is_causal:  # MultiheadAttention passes a causal mask on as this flag
            attn_mask = torch.ones(w.shape[-2:], dtype=torch.bool, device=w.device).tril()
        if attn_mask is not None:
            w = w.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
                else w + attn_mask
        w = F.dropout(torch.softmax(w, dim=-1), dropout_p, True)
        return w @ value

    class LayerByLayerVF:
        """``_VF`` whose multi-layer recurrent kernels with dropout run layer by layer, with
        the (recorded) F.dropout between layers, as ATen's own loop does."""

        def __init__(self, vf):
            self._vf = vf

        def __getattr__(self, name):
            return getattr(self._vf, name)

        def _split(self, kernel, args):
            if len(args) != 9:  # the packed-sequence form
                return getattr(self._vf, kernel)(*args)
            x, hx, weights, bias, layers, p, train, bidir, batch_first = args
            if not (train and p > 0 and layers > 1) or bidir:
                return getattr(self._vf, kernel)(*args)
            per = len(weights) // layers
            pair = isinstance(hx, (tuple, list))
            outs = []
            for layer in range(layers):
                h = tuple(t[layer:layer + 1] for t in hx) if pair else hx[layer:layer + 1]
                res = getattr(self._vf, kernel)(x, h, weights[layer * per:(layer + 1) * per],
                                                bias, 1, 0.0, train, False, batch_first)
                outs.append(res[1:])
                x = res[0] if layer == layers - 1 else F.dropout(res[0], p, True)
            return (x,) + tuple(torch.cat([o[k] for o in outs]) for k in range(len(outs[0])))

        def lstm(self, *args):
            return self._split("lstm", args)

        def gru(self, *args):
            return self._split("gru", args)

        def rnn_tanh(self, *args):
            return self._split("rnn_tanh", args)

        def rnn_relu(self, *args):
            return self._split("rnn_relu", args)

    orig_randn, orig_randn_like = torch.randn, torch.randn_like

    def randn(*args, **kwargs):
        out = orig_randn(*args, **kwargs)
        if _is_program_frame(sys._getframe(1), roots):
            tape.append(("normal", tuple(out.shape), out.detach().cpu().numpy().copy()))
        return out

    def randn_like(input, **kwargs):
        out = orig_randn_like(input, **kwargs)
        if _is_program_frame(sys._getframe(1), roots):
            tape.append(("normal", tuple(out.shape), out.detach().cpu().numpy().copy()))
        return out

    orig_iter = tud.RandomSampler.__iter__

    def sampler_iter(self):
        order = list(orig_iter(self))
        tape.append(("order", len(order), np.asarray(order, dtype=np.int64)))
        yield from order

    def first_model(module):
        # a model first called through torch.compile's wrapper (OptimizedModule) names its
        # parameters "_orig_mod.<name>"; xpnn's compile returns the model itself
        module = getattr(module, "_orig_mod", module)
        run.params = {k: v.detach().cpu().numpy().copy() for k, v in module.named_parameters()}
        run.buffers = {k: _host(v.detach().cpu()) for k, v in module.named_buffers()}

    return [mock.patch.object(F, "dropout", dropout),
            mock.patch.object(F, "scaled_dot_product_attention", sdpa),
            mock.patch.object(rnn_mod, "_VF", LayerByLayerVF(rnn_mod._VF)),
            mock.patch.object(torch, "randn", randn),
            mock.patch.object(torch, "randn_like", randn_like),
            mock.patch.object(tud.RandomSampler, "__iter__", sampler_iter),
            _first_model_hook(torch.nn.Module, first_model),
            item_hook(torch.Tensor, run, roots)]


def xpnn_hooks(run, recorded, roots):
    """The patches of the replaying run on xpnn."""
    import xpnn
    # by module path: xpnn.functional's attributes of these names are the functions
    attention_mod = importlib.import_module("xpnn.functional.attention")
    dropout_mod = importlib.import_module("xpnn.functional.dropout")
    sampler_mod = importlib.import_module("xpnn.utils.data.sampler")

    tape = list(recorded.tape)
    run.tape = tape  # what is left unconsumed at the end

    def take(kind, what):
        if not tape:
            raise ReplayError(f"xpnn drew {what} after PyTorch's run had made all its "
                              f"{len(recorded.tape)} draws")
        got = tape.pop(0)
        if got[0] != kind:
            raise ReplayError(f"xpnn drew {what} where PyTorch drew {got[0]} "
                              f"{getattr(got[2], 'shape', '')} "
                              f"(draw {len(recorded.tape) - len(tape)} of {len(recorded.tape)})")
        return got

    def dropout_mask(be, shape, dtype, p, generator=None):
        _, p_torch, keep = take("dropout", f"a dropout mask of shape {tuple(shape)} (p={p})")
        if not math.isclose(p, p_torch, rel_tol=1e-9):
            raise ReplayError(f"xpnn drew a dropout mask with p={p}, PyTorch with p={p_torch}")
        if tuple(keep.shape) != tuple(shape):
            if keep.size != math.prod(shape):
                raise ReplayError(f"xpnn drew a dropout mask of shape {tuple(shape)}, PyTorch "
                                  f"one of shape {keep.shape}")
            run.notes.append(f"dropout mask shape {tuple(shape)} replayed from PyTorch's "
                             f"{keep.shape} (same size)")
            keep = keep.reshape(shape)
        return be.xp.astype(be.asarray(keep), be.dtype(dtype)) * (1 / (1 - p))

    def replay_normal(out, what):
        _, shape, values = take("normal", what)
        if tuple(out.shape) != shape:
            raise ReplayError(f"xpnn drew {what} of shape {tuple(out.shape)}, PyTorch {shape}")
        with xpnn.no_grad():
            # float64 draws stay float64 (xpnn.tensor of a float64 array makes float32)
            out.copy_(xpnn.tensor(values, dtype=out.dtype))
        return out

    orig_randn, orig_randn_like = xpnn.randn, xpnn.randn_like

    def randn(*args, **kwargs):
        out = orig_randn(*args, **kwargs)
        if _is_program_frame(sys._getframe(1), roots):
            replay_normal(out, "randn")
        return out

    def randn_like(input, **kwargs):
        out = orig_randn_like(input, **kwargs)
        if _is_program_frame(sys._getframe(1), roots):
            replay_normal(out, "randn_like")
        return out

    def sampler_indices(self):
        _, n, order = take("order", f"a RandomSampler order of {self.num_samples} samples")
        if n != self.num_samples:
            raise ReplayError(f"xpnn's RandomSampler draws {self.num_samples} samples, "
                              f"PyTorch's drew {n}")
        return order.copy()

    def first_model(module):
        names = {k: tuple(v.shape) for k, v in module.named_parameters()}
        want = {k: v.shape for k, v in recorded.params.items()}
        if names != want:
            raise AssertionError(
                "the model's parameters differ from PyTorch's (name: shape):\n"
                f"  only in xpnn: {sorted(set(names.items()) - set(want.items()))}\n"
                f"  only in PyTorch: {sorted(set(want.items()) - set(names.items()))}")
        run.params = {k: v.numpy().copy() for k, v in module.named_parameters()}
        run.buffers = {k: _host(v) for k, v in module.named_buffers()}
        module.load_state_dict(recorded.params, strict=False)

    return [mock.patch.object(dropout_mod, "dropout_mask", dropout_mask),
            mock.patch.object(attention_mod, "dropout_mask", dropout_mask),
            mock.patch.object(xpnn, "randn", randn),
            mock.patch.object(xpnn, "randn_like", randn_like),
            mock.patch.object(sampler_mod.RandomSampler, "_indices", sampler_indices),
            _first_model_hook(xpnn.nn.Module, first_model),
            item_hook(xpnn.Tensor, run, roots)]


def _host(t):
    """A buffer's values as a NumPy copy (a sparse buffer's dense values)."""
    return (t.to_dense() if t.is_sparse else t).numpy().copy()
