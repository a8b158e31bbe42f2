"""Gradients on their way to the leaves: summed over every edge of a backward, then hooks,
``.grad`` and post-accumulate hooks, once per leaf (:class:`_Leaves`, :func:`_deliver_leaf`,
:func:`_accumulate`)."""
from __future__ import annotations

from .. import backend as B
from .grad_mode import no_grad
from .sparse_grad import SparseGrad, deliver_sparse, sparse_to_dense
from .tensor_base import TensorBase


class _Leaves:
    """Gradients on their way to leaves, as PyTorch's AccumulateGrad receives them: summed
    over every edge of this backward that reaches the leaf, then handed on once (hooks,
    ``.grad``, post-accumulate hooks) as soon as the last of those edges has delivered, so
    hooks see the whole gradient and a leaf's hooks run once per backward."""

    def __init__(self, order, leaf_roots, capture, only, deliver=None):
        self.capture, self.only, self.sums = capture, only, {}
        self.deliver = _deliver_leaf if deliver is None else deliver
        left = {}
        for t in leaf_roots:
            left[id(t)] = left.get(id(t), 0) + 1
        for node in order:
            d = node.__dict__
            for t, (src, _), need in zip(d.get("inputs", ()), d.get("edges", ()),
                                         d.get("needs", ())):
                if src is None and need:
                    left[id(t)] = left.get(id(t), 0) + 1
        self.left = left

    def give(self, leaf, g, fresh):
        """One edge's gradient for ``leaf`` (None: the edge delivered nothing)."""
        key = id(leaf)
        left = self.left[key] - 1
        self.left[key] = left
        if g is not None:
            have = self.sums.get(key)
            self.sums[key] = (g, fresh) if have is None else (have[0] + g, True)
        if left == 0:
            done = self.sums.pop(key, None)
            if done is not None:
                self.deliver(leaf, done[0], done[1], self.capture, self.only)

    def skip(self, node):
        """A node backward never reached: its leaf edges deliver nothing."""
        d = node.__dict__
        for t, (src, _), need in zip(d.get("inputs", ()), d.get("edges", ()),
                                     d.get("needs", ())):
            if src is None and need:
                self.give(t, None, False)


def _deliver_leaf(leaf, g, fresh, capture, only):
    if g.__class__ is SparseGrad:  # Embedding(sparse=True): a sparse .grad
        return deliver_sparse(leaf, g, capture, only)
    if not leaf._rg:  # it stopped requiring grad after the graph was built (PyTorch)
        return
    if tuple(g.shape) != leaf.shape:
        raise RuntimeError(f"internal: gradient of shape {tuple(g.shape)} for a leaf of shape "
                           f"{leaf.shape}")
    hooks = leaf._hooks
    if hooks and hooks.get("pre"):  # before autograd.grad captures it too, as PyTorch
        for hook in hooks["pre"]:
            with no_grad():  # hooks run without recording, as in PyTorch's backward
                out = hook(leaf._result(g, leaf._be))
            if out is not None:
                g, fresh = _hooked(g, out), False
    if capture is not None:
        hit = capture.get(id(leaf))
        if hit is not None:
            hit[1] = g if hit[1] is None else hit[1] + g
    if only is not None and id(leaf) not in only:
        return
    _accumulate(leaf, g, fresh)


def _hooked(g, out):
    """A hook's replacement ``out`` for the gradient ``g``, refused where its shape or dtype differ
    (PyTorch: the hook has changed the size or type of value)."""
    arr = out.array if isinstance(out, TensorBase) else out
    if tuple(arr.shape) != tuple(g.shape):
        raise RuntimeError(f"hook: a hook has changed the size of value: it returned shape "
                           f"{tuple(arr.shape)} for a gradient of shape {tuple(g.shape)}")
    if arr.dtype != g.dtype:
        raise RuntimeError(f"hook: a hook has changed the type of value: it returned "
                           f"{B.dtype_name(arr.dtype)} for a {B.dtype_name(g.dtype)} gradient")
    return arr


def _accumulate(leaf, g, fresh=False):
    """Add ``g`` (hooks already run) into ``leaf.grad``, then the post-accumulate hooks."""
    hooks = leaf._hooks
    if leaf._grad is not None:
        acc = leaf._grad
        try:
            acc.array = acc.array + g
        except AttributeError:  # a sparse .grad (SparseTensor) and a dense g: dense, as torch
            leaf._grad = leaf._result(sparse_to_dense(acc) + g, leaf._be)
        else:
            acc._vc[0] += 1
    else:
        # Unless the op vouches that g is its own new array, copy it: g may be a read-only
        # broadcast view (sum's backward) or the very array another leaf receives (add's
        # backward), and optimizers and clipping update gradients and parameters in place.
        leaf._grad = leaf._result(g if fresh else leaf._be.xp.asarray(g, copy=True), leaf._be)
    if hooks and hooks.get("post"):
        for hook in hooks["post"]:
            hook(leaf)

