"""The reverse sweep of ``create_graph=True`` (:func:`_run_graph`): :func:`.engine._run`'s
order and bookkeeping, with Tensor gradients and each node's ``backward_graph`` recorded, so
the gradients carry a graph of their own (higher-order gradients)."""
from __future__ import annotations

from .engine import _pruned, _raise_freed, _raise_modified, _seeded, _slots, _topo_order
from .grad_mode import enable_grad
from .leaves import _hooked, _Leaves
from .tensor_base import TensorBase


def _run_graph(roots, grads, retain_graph, capture, only, prune=False):
    """The reverse sweep of ``create_graph=True``: :func:`_run`'s order and bookkeeping, but
    the gradients flowing are Tensors and each node's ``backward_graph`` (its vector-Jacobian
    product written with xpnn ops) runs with recording on, so the gradients that reach the
    leaves (or :func:`grad`) carry a graph of their own. A node without ``backward_graph``
    raises NotImplementedError rather than hand on a gradient cut from the graph."""
    pending, leaf_roots = _seeded(roots, grads, True)
    order = _topo_order(list(pending)) if pending else []
    order, stop = _pruned(order, capture) if prune else (order, ())
    leaves = _Leaves(order, [t for t, _ in leaf_roots], capture, only, _deliver_graph_leaf)
    with enable_grad():
        for root, gt in leaf_roots:
            leaves.give(root, gt, False)
        for node in order:
            dYs = pending.pop(node, None)
            if dYs is None:
                leaves.skip(node)
                continue
            _graph_step(node, dYs, leaves, pending, capture, node in stop)
            if not retain_graph and node not in stop:
                node.__dict__.clear()


def _graph_step(node, dYs, leaves, pending, capture, stop=False):
    """One node of :func:`_run_graph`: its output gradients (Tensors) in, its inputs'
    gradients handed on (``stop``: read for grad() and left as it is, see _pruned)."""
    d = node.__dict__
    name = type(node).__name__
    if "inputs" not in d or "_freed" in d:
        _raise_freed(name)
    if "_out_hooks" in d or "_retain" in d:
        dYs = _output_hooks_graph(node, dYs)
    if capture is not None:
        for i, dY in enumerate(dYs):
            hit = capture.get((id(node), i))
            if hit is not None and dY is not None:
                hit[1] = dY if hit[1] is None else hit[1] + dY
    if stop:
        leaves.skip(node)
        return
    for vc, then, shape in node.versions:
        if vc[0] != then:
            _raise_modified(name, shape, vc[0], then)
    if len(dYs) > 1 and d.get("_materialize", True):
        like = node.inputs[0]
        dYs = [dY if dY is not None or t is None else
               like._result(node.xp.zeros(s, dtype=t, device=node.be.device), node.be)
               for dY, (s, t) in zip(dYs, node.out_meta)]
    if node._ctx_style:
        dXs = _call_ctx_backward_graph(node, dYs)
    else:
        step = getattr(node, "backward_graph", None)
        if step is None:
            raise NotImplementedError(f"double backward of {name} is not supported by xpnn "
                                      "(create_graph=True)")
        dXs = step(*dYs)
    if type(dXs) is not tuple:
        dXs = (dXs,)
    for t, (src, idx), need, dX in zip(node.inputs, node.edges, node.needs, dXs):
        if src is None:
            if need:
                leaves.give(t, dX, False)
        elif not need or dX is None:
            continue
        else:
            slots = pending.get(src)
            if slots is None:
                slots = pending[src] = _slots(src)
            prev = slots[idx]
            slots[idx] = dX if prev is None else prev + dX


def _call_ctx_backward_graph(node, dYs):
    """A PyTorch-style node's backward with recording on: its Tensor ops build the graph of
    the gradient, as in PyTorch (one gradient per tensor input, shapes checked)."""
    res = type(node).backward(node, *dYs)
    res = res if isinstance(res, tuple) else (res,)
    is_t = node._arg_is_tensor
    name = type(node).__name__
    if len(res) > len(is_t) and all(g is None for g in res[len(is_t):]):
        res = res[:len(is_t)]
    if len(res) != len(is_t):
        raise RuntimeError(f"{name}.backward returned {len(res)} gradients; expected one per "
                           f"forward argument ({len(is_t)})")
    out, inputs = [], iter(node.inputs)
    for i, (flag, g) in enumerate(zip(is_t, res)):
        if not flag:
            if g is not None:
                raise RuntimeError(f"{name}.backward returned a gradient for argument {i}, "
                                   "which is not a Tensor (return None there)")
            continue
        t = next(inputs)
        if g is not None and not isinstance(g, TensorBase):
            g = t._result(g, t._be)
        if g is not None and g.shape != t.shape:
            raise RuntimeError(f"{name}.backward: invalid gradient at index {i}: got shape "
                               f"{g.shape} but expected shape {t.shape}")
        out.append(g)
    return tuple(out)


def _output_hooks_graph(node, dYs):
    """:func:`_output_hooks` for Tensor gradients: hooks see (and may replace) the Tensor;
    a retained gradient keeps its graph."""
    dYs = list(dYs)
    for i, hooks in node.__dict__.get("_out_hooks", {}).items():
        if dYs[i] is None:
            continue
        for hook in hooks:
            out = hook(dYs[i])
            if out is not None:
                _hooked(dYs[i].array, out)
                dYs[i] = out
    for i, ref in node.__dict__.get("_retain", {}).items():
        t = ref()
        if t is not None and dYs[i] is not None:
            t._grad = dYs[i] if t._grad is None else t._grad + dYs[i]
    return dYs


def _deliver_graph_leaf(leaf, g, fresh, capture, only):
    """:func:`_deliver_leaf` for a Tensor gradient: ``.grad`` becomes a Tensor that carries
    its graph (PyTorch's create_graph), summed out of place with an earlier one."""
    if not leaf._rg:
        return
    if g.shape != leaf.shape:
        raise RuntimeError(f"internal: gradient of shape {g.shape} for a leaf of shape "
                           f"{leaf.shape}")
    hooks = leaf._hooks
    if hooks and hooks.get("pre"):
        for hook in hooks["pre"]:
            out = hook(g)
            if out is not None:
                _hooked(g.array, out)
                g = out
    if capture is not None:
        hit = capture.get(id(leaf))
        if hit is not None:
            hit[1] = g if hit[1] is None else hit[1] + g
    if only is not None and id(leaf) not in only:
        return
    # a copy in the graph: the same Tensor may reach another leaf (add's backward), and
    # optimizers and clipping change gradients in place
    leaf._grad = g.clone() if leaf._grad is None else leaf._grad + g
    if hooks and hooks.get("post"):
        for hook in hooks["post"]:
            hook(leaf)
