"""The backward engine: the reverse sweep over the graph (:func:`_run`), each node once after
all its consumers, freeing what a node saved as it goes (:func:`_free`).

``_anomaly`` lives here, read once per node: xpnn.detect_anomaly() sets a checker on this
module (``engine._anomaly``); None (the default) costs nothing. The create_graph sweep is in
:mod:`.engine_graph`, leaf delivery in :mod:`.leaves`."""
from __future__ import annotations

from .. import backend as B
from .._errors import ShapeError
from .grad_mode import _mode, is_grad_enabled, no_grad
from .leaves import _hooked, _Leaves
from .placed import add_grads, dense
from .tensor_base import TensorBase

_anomaly = None  # xpnn.detect_anomaly() sets a checker here; None (the default) costs nothing


def _raise_modified(op, shape, now, then):
    raise RuntimeError(f"backward: one of the variables needed for gradient computation "
                       f"has been modified by an inplace operation: a tensor of shape "
                       f"{shape} that {op} saved for its gradient was modified by an "
                       f"in-place operation (version {now}, expected {then}); clone it "
                       "before changing it, or call optimizer.step() only after backward()")


def _call_ctx_backward(node, dYs):
    """Backward of a PyTorch-style node: grads as Tensors in, arrays out (one per tensor
    input; a gradient returned for a non-Tensor argument must be None)."""
    be = node.be
    grads = [None if d is None else node.inputs[0]._result(d, be) for d in dYs]
    prev = is_grad_enabled()
    _mode.grad = False
    try:
        res = type(node).backward(node, *grads)
    finally:
        _mode.grad = prev
    res = res if isinstance(res, tuple) else (res,)
    is_t = node._arg_is_tensor
    name = type(node).__name__
    if len(res) > len(is_t) and all(g is None for g in res[len(is_t):]):
        res = res[:len(is_t)]  # trailing Nones beyond the arguments: accepted, as PyTorch
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
        if g is None:
            out.append(None)
            continue
        arr = g.array if isinstance(g, TensorBase) else g
        if tuple(arr.shape) != tuple(t.shape):  # PyTorch: invalid gradient at index i
            raise RuntimeError(f"{name}.backward: invalid gradient at index {i}: got shape "
                               f"{tuple(arr.shape)} but expected shape {tuple(t.shape)}")
        if arr.dtype != t.dtype and t._be.is_inexact(t.dtype):
            arr = t.xp.astype(arr, t.dtype)  # cast back to the input's dtype, as PyTorch
        out.append(arr)
    return tuple(out)


def _root_grad(root, grad):
    """The starting gradient of one root as an array, checked against the root."""
    be = root._be
    if grad is None:
        if _numel(root.shape) != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for a scalar "
                               f"output, not for a non-scalar output of shape {root.shape}; "
                               "pass gradient=")
        return be.xp.ones(root.array.shape, dtype=root.dtype, device=be.device)
    arr = grad.array if isinstance(grad, TensorBase) else grad
    if not B.is_array(arr):
        raise TypeError(f"backward: gradient must be a Tensor or an array, got "
                        f"{type(grad).__name__}")
    gbe = B.backend_of(arr)
    if gbe is not be:
        raise TypeError(f"backward: gradient lives on {gbe.name}:{gbe.device} but the tensor "
                        f"on {be.name}:{be.device}")
    if tuple(arr.shape) != root.shape:
        raise ShapeError(f"backward: grad of shape {tuple(arr.shape)} for a tensor of "
                         f"shape {root.shape}")
    if arr.dtype != root.dtype:  # PyTorch casts it to the tensor's dtype
        arr = be.xp.astype(arr, root.dtype)
    return arr


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _seeded(roots, grads, tensors):
    """The start of a sweep: ({node: its output gradients}, [(leaf root, its gradient)]);
    the gradients are arrays, or Tensors with ``tensors`` (create_graph)."""
    pending, leaf_roots = {}, []
    for root, g in zip(roots, grads):
        if not root._rg:
            raise RuntimeError("backward: element 0 of tensors does not require grad and does "
                               "not have a grad_fn (was it computed under no_grad, or from "
                               "inputs without requires_grad=True?)")
        arr = _root_grad(root, g)
        if tensors:
            arr = g if isinstance(g, TensorBase) and g.dtype == root.dtype else \
                root._result(arr, root._be)
        if root._node is None:
            leaf_roots.append((root, arr))
            continue
        slots = pending.get(root._node)
        if slots is None:
            slots = pending[root._node] = _slots(root._node)
        prev = slots[root._idx]
        slots[root._idx] = arr if prev is None else prev + arr
    return pending, leaf_roots


def _pruned(order, capture):
    """For :func:`grad`: the nodes of ``order`` its sweep visits, and the set of those
    whose backward it does not run. As PyTorch's engine, it runs only the nodes with a path
    down to an input; an input's own node (a non-leaf input) just has its output gradient
    read, unless its inputs lead to another input. The nodes left alone are not freed, so
    a later grad() or backward() may still go through them (MAML's fast weights: each inner
    step's grad() stops at the weights of the step before)."""
    captured = {key[0] for key in capture if type(key) is tuple}
    keep, stop, below = [], set(), set()
    for node in reversed(order):  # each node after the nodes it depends on
        d = node.__dict__
        if "inputs" not in d:  # freed: kept, so that the sweep says so if it gets there
            below.add(node)
        elif any((id(t) in capture) if src is None else (src in below or src in stop)
                 for t, (src, _) in zip(d["inputs"], d["edges"])):
            below.add(node)
        elif id(node) in captured:
            stop.add(node)
        else:
            continue
        keep.append(node)
    keep.reverse()
    return keep, stop


def _run(roots, grads, retain_graph, capture, only, prune=False):
    """The reverse sweep: from the roots down, each node once, after all its consumers.

    ``capture`` (for :func:`grad`) maps a leaf id or (node id, output index) to the slot that
    receives its gradient instead of ``.grad``; ``only`` restricts accumulation to leaves
    whose id it holds (None: every leaf). A leaf's gradient is summed over every edge that
    delivers one and accumulated once, when its last edge has delivered (see _Leaves).
    ``prune`` (:func:`grad`): only the nodes :func:`_pruned` keeps are visited.
    The per-node work is written out here, not shared with :func:`_graph_step`: this loop
    runs for every node of every training step.
    """
    pending, leaf_roots = _seeded(roots, grads, False)
    order = _topo_order(list(pending)) if pending else []
    order, stop = _pruned(order, capture) if prune else (order, ())
    leaves = _Leaves(order, [t for t, _ in leaf_roots], capture, only)
    for root, arr in leaf_roots:
        leaves.give(root, arr, False)
    placed = False  # whether a Placed gradient was handed on (see placed.py)
    for node in order:
        dYs = pending.pop(node, None)
        if dYs is None:  # nothing reached it: its leaf edges deliver nothing
            leaves.skip(node)
            continue
        if placed:
            dYs = [dense(dY) for dY in dYs]
        d = node.__dict__
        if "inputs" not in d:
            _raise_freed(type(node).__name__)
        if "_out_hooks" in d or "_retain" in d:
            dYs = _output_hooks(node, dYs)
        if capture is not None:
            for i, dY in enumerate(dYs):
                hit = capture.get((id(node), i))
                if hit is not None and dY is not None:
                    hit[1] = dY if hit[1] is None else hit[1] + dY
        if stop and node in stop:  # grad(): an input's node, read and left as it is
            leaves.skip(node)
            continue
        for vc, then, shape in node.versions:
            if vc[0] != then:
                _raise_modified(type(node).__name__, shape, vc[0], then)
        if len(dYs) > 1 and d.get("_materialize", True):  # a missing output gradient
            # is zero (a custom Function that set_materialize_grads(False) gets None)
            dYs = [dY if dY is not None or t is None else
                   node.xp.zeros(s, dtype=t, device=node.be.device)
                   for dY, (s, t) in zip(dYs, node.out_meta)]
        if node._ctx_style:
            dXs = _call_ctx_backward(node, dYs)
        elif node.placed_grads and _anomaly is None and node.edges[0][0] is not None:
            dXs, placed = node.backward_placed(*dYs), True
        else:
            dXs = node.backward(*dYs)
        if type(dXs) is not tuple:
            dXs = (dXs,)
        if _anomaly is not None:
            _anomaly.backward(node, dXs)
        for t, (src, idx), need, dX in zip(node.inputs, node.edges, node.needs, dXs):
            if src is None:
                if need:
                    leaves.give(t, dX, node.fresh_grads)
            elif not need or dX is None:
                continue
            else:
                slots = pending.get(src)
                if slots is None:
                    slots = pending[src] = _slots(src)
                prev = slots[idx]
                slots[idx] = dX if prev is None else add_grads(prev, dX)
        if not retain_graph:
            _free(node, d)  # frees saved activations as the sweep goes


# what apply and backward keep on every node: the rest is what forward saved
_STRUCTURE = frozenset(("be", "xp", "record", "needs", "inputs", "edges", "versions",
                        "out_meta", "_anomaly_where", "_freed"))


def _plain(v):
    """Whether a value a forward kept is metadata (numbers, shapes, flags), not an array."""
    if v is None or type(v) in (int, float, bool, str, slice):
        return True
    if isinstance(v, (tuple, list)):
        return all(_plain(e) for e in v)
    if type(v) is dict:
        return all(_plain(e) for e in v.values())
    return False


def _free(node, d):
    """Release what a node saved once backward went through it. As PyTorch, a node that
    saved no array (add, sum, a reshape: only shapes and numbers) stays usable, so another
    backward through it works; it drops its inputs but the leaves it delivers to. Any other
    node is emptied, and a second backward reaching it raises (:func:`_raise_freed`).
    Whether an op saves only metadata is found on its first node (a scan of what forward
    kept) and remembered with the names it kept: a later node keeping other names is
    scanned again, so the hot path costs a set comparison."""
    cls = type(node)
    names = _METADATA_ONLY.get(cls)
    if names is not False and "_out_hooks" not in d and "_retain" not in d:
        kept = d.keys() - _STRUCTURE
        if names is None or kept != names:
            names = _metadata_only(node, d, kept)
            _METADATA_ONLY[cls] = names if names is not None else False
        if names is not None and kept == names:
            d["inputs"] = tuple([t if src is None and need else None
                                 for t, (src, _), need in zip(d["inputs"], d["edges"],
                                                              d["needs"])])
            d["_freed"] = True  # for create_graph: backward_graph reads the inputs
            return
    d.clear()


_METADATA_ONLY = {}  # Function class -> names its forward keeps (metadata), or False


def _metadata_only(node, d, kept):
    """``kept`` when the node saved only metadata (and declares no saved tensor), else
    None."""
    if d.get("saved_inputs", node.saved_inputs) != () or node.saves_output or \
            node._ctx_style or not all(_plain(d[k]) for k in kept):
        return None
    return frozenset(kept)


def _raise_freed(name):
    raise RuntimeError(f"backward: Trying to backward through the graph a second time (or "
                       f"directly access saved tensors after they have already been freed): "
                       f"the values {name} saved for its gradient were already freed by the "
                       f"first backward(); pass retain_graph=True to the first one to go "
                       f"through the graph twice")


def _output_hooks(node, dYs):
    """Run hooks registered on a node's output tensors; keep retained gradients."""
    dYs = list(dYs)
    be = node.be
    for i, hooks in node.__dict__.get("_out_hooks", {}).items():
        if dYs[i] is None:
            continue
        for hook in hooks:
            with no_grad():
                out = hook(node.inputs[0]._result(dYs[i], be))
            if out is not None:
                dYs[i] = _hooked(dYs[i], out)
    for i, ref in node.__dict__.get("_retain", {}).items():
        t = ref()
        if t is not None and dYs[i] is not None:
            g = be.xp.asarray(dYs[i], copy=True)
            t._grad = t._result(g, be) if t._grad is None else \
                t._result(t._grad.array + g, be)
    return dYs


def _slots(node):
    return [None] * len(node.__dict__.get("out_meta", (None,)))


def _topo_order(roots):
    """Nodes from ``roots`` down, each before every node it depends on."""
    order, seen, stack = [], set(), [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for src, _ in node.__dict__.get("edges", ()):
            if src is not None and src not in seen:
                stack.append((src, False))
    order.reverse()
    return order
