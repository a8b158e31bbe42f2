"""Module hooks' plumbing: the handle ``register_*_hook`` returns, and the identity nodes
through which full backward hooks see a module's gradients (PyTorch's
``torch.utils.hooks.RemovableHandle`` and ``BackwardHook``). Split from module.py, which
holds the registration methods and the calls."""
from __future__ import annotations

import itertools

from ..autograd import Function, TensorBase
from ..tensor import Tensor


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods: ``remove()`` unregisters the hook (also
    usable as a context manager), as ``torch.utils.hooks.RemovableHandle``."""

    _ids = itertools.count()

    def __init__(self, *tables):
        self.id = next(RemovableHandle._ids)
        self._tables = tables

    def remove(self):
        for table in self._tables:
            table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _BackwardHook(Function):
    """Identity on a module's tensor inputs (or outputs) whose backward runs the module's full
    backward (pre-)hooks: one node for all of them, so a hook sees every gradient at once
    (PyTorch's BackwardHookFunction)."""

    saved_inputs = ()

    def forward(self, *xs, call=None):
        self.call = call
        return xs if len(xs) > 1 else xs[0]

    def backward(self, *dYs):
        return self.call(self.be, dYs)


class BackwardHookCall:
    """One call of a module with full backward hooks: wraps its inputs and outputs in
    :class:`_BackwardHook` nodes and carries grad_output from the one to the other.

    As in PyTorch, once one tensor requires grad every Tensor among them is seen by the
    hooks: one that does not require grad gets a zero gradient, a non-Tensor None."""

    def __init__(self, module):
        self.module, self.grad_output = module, None
        self.ins = self.outs = None  # (count, wrapped positions, {zero position: Tensor})

    @staticmethod
    def _wrap(items, call):
        """``items`` with their grad-requiring Tensors routed through one hook node."""
        pos = [i for i, t in enumerate(items) if isinstance(t, TensorBase) and t._rg]
        if not pos:
            return None, items
        zeros = {i: t for i, t in enumerate(items)
                 if isinstance(t, TensorBase) and not t._rg}
        outs = _BackwardHook.apply(*[items[i] for i in pos], call=call)
        outs = outs if isinstance(outs, tuple) else (outs,)
        items = list(items)
        for i, o in zip(pos, outs):
            o._vc = items[i]._vc  # an in-place change of the alias is one of the original
            items[i] = o
        return (len(items), pos, zeros), items

    def wrap_inputs(self, args):
        self.n_args = len(args)
        self.ins, items = self._wrap(args, self._inputs)
        return tuple(items)

    def wrap_outputs(self, out):
        single = isinstance(out, TensorBase)
        if not single and not isinstance(out, tuple):
            return out  # as PyTorch: only a Tensor or a tuple's top-level Tensors are hooked
        self.outs, items = self._wrap((out,) if single else out, self._outputs)
        if self.outs is None:
            return out
        if single:
            return items[0]
        return type(out)(*items) if hasattr(out, "_fields") else tuple(items)

    @staticmethod
    def _grads(be, dYs, spec):
        n, pos, zeros = spec
        grads = [None] * n
        for i, t in zeros.items():
            grads[i] = Tensor(t.xp.zeros(t.shape, dtype=t.dtype, device=be.device), _be=be)
        for i, d in zip(pos, dYs):
            grads[i] = None if d is None else Tensor(d, _be=be)
        return tuple(grads)

    def _replace(self, what, res, spec, dYs):
        n, pos, _ = spec
        if not isinstance(res, (tuple, list)) or len(res) != n:
            raise RuntimeError(f"{type(self.module).__name__}: a backward hook returned "
                               f"{type(res).__name__} for {what}; expected a tuple of {n}")
        out = []
        for i, d in zip(pos, dYs):
            g = res[i]
            g = g.array if isinstance(g, TensorBase) else g
            if g is not None and tuple(g.shape) != tuple(d.shape):
                raise RuntimeError(f"{type(self.module).__name__}: a backward hook returned "
                                   f"a gradient of shape {tuple(g.shape)} for {what}[{i}] "
                                   f"of shape {tuple(d.shape)}")
            out.append(g)
        return tuple(out)

    def _outputs(self, be, dYs):
        m = self.module
        grad_output = self._grads(be, dYs, self.outs)
        for hook in list(m._backward_pre_hooks.values()):
            res = hook(m, grad_output)
            if res is not None:
                dYs = self._replace("grad_output", res, self.outs, dYs)
                grad_output = self._grads(be, dYs, self.outs)
        self.grad_output = grad_output
        if self.ins is None:  # no input needs a gradient: PyTorch calls the hooks here
            for hook in list(m._backward_hooks.values()):
                hook(m, (None,) * self.n_args, grad_output)
        return dYs if len(dYs) > 1 else dYs[0]

    def _inputs(self, be, dYs):
        m = self.module
        grad_input = self._grads(be, dYs, self.ins)
        for hook in list(m._backward_hooks.values()):
            res = hook(m, grad_input, self.grad_output)
            if res is not None:
                dYs = self._replace("grad_input", res, self.ins, dYs)
                grad_input = self._grads(be, dYs, self.ins)
        return dYs if len(dYs) > 1 else dYs[0]
