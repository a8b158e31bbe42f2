"""``torch.autograd.functional``: vector-Jacobian products and Jacobians of a function of
tensors by reverse mode (one backward per output element for a Jacobian), and the
second-order tools (hessian, hvp, vhp; jvp by the double-vjp trick), which differentiate a
gradient taken with ``create_graph=True`` (ops with a ``backward_graph``).
"""
from __future__ import annotations

import math

from . import TensorBase, enable_grad, grad


def _tensors(what, xs):
    """(tuple of tensors, whether the caller passed a tuple)."""
    single = isinstance(xs, TensorBase)
    xs = (xs,) if single else tuple(xs)
    for i, x in enumerate(xs):
        if not isinstance(x, TensorBase):
            raise TypeError(f"{what}: expected a Tensor or a tuple of Tensors, got "
                            f"{type(x).__name__} at position {i}")
    return xs, not single


def _leaves(xs):
    """Fresh leaves that require grad, with the data of ``xs``."""
    return tuple(x.detach().requires_grad_(True) for x in xs)


def _zeros_for_unused(gs, xs, strict, what):
    out = []
    for i, (g, x) in enumerate(zip(gs, xs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{what}: the output of the function is independent of "
                                   f"input {i}, which is not allowed in strict mode")
            g = x.new_zeros(*x.shape)
        out.append(g.detach())
    return tuple(out)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``: the outputs (detached) and the product of ``v`` with the
    Jacobian, shaped like the inputs (a tensor, or a tuple when ``inputs`` is a tuple).

    ``v`` may be None only when ``func`` returns a single element."""
    xs, many_in = _tensors("vjp: inputs", inputs)
    xs = _graph_leaves(xs, create_graph)
    with enable_grad():
        outs = func(*xs)
    ys, many_out = _tensors("vjp: the function's outputs", outs)
    if v is None:
        if len(ys) != 1 or ys[0].numel() != 1:
            raise RuntimeError("vjp: v can only be None if the function returns a single "
                               "element")
        vs = (None,)
    else:
        vs, _ = _tensors("vjp: v", v)
        for y, w in zip(ys, vs):
            if tuple(w.shape) != tuple(y.shape):
                raise RuntimeError(f"vjp: v has shape {tuple(w.shape)} but the function's "
                                   f"output has shape {tuple(y.shape)}")
    gs = grad(ys, xs, grad_outputs=list(vs), create_graph=create_graph, allow_unused=True)
    gs = _finish(gs, xs, strict, "vjp", create_graph)
    ys = tuple(y.detach() for y in ys)
    return (ys if many_out else ys[0]), (gs if many_in else gs[0])


def _strategy(op, strategy, vectorize):
    """PyTorch's checks of a Jacobian strategy. xpnn has no forward mode: "forward-mode"
    gives the same Jacobian, computed by reverse mode."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(f"{op}: expected strategy 'forward-mode' or 'reverse-mode', got "
                         f"{strategy!r}")
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(f"{op}: the 'forward-mode' strategy needs vectorize=True "
                                  "(as in PyTorch)")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for one input and one output a tensor of
    shape ``output.shape + input.shape``; tuples of them (nested, outputs first) when
    ``inputs`` or the outputs are tuples. One backward per output element."""
    _strategy("jacobian", strategy, vectorize)
    if strategy == "forward-mode" and strict:
        raise RuntimeError("jacobian: strict=True and strategy='forward-mode' are not "
                           "supported together (as in PyTorch)")
    xs, many_in = _tensors("jacobian: inputs", inputs)
    xs = _graph_leaves(xs, create_graph)
    with enable_grad():
        outs = func(*xs)
    ys, many_out = _tensors("jacobian: the function's outputs", outs)
    rows = []
    for y in ys:
        row = _jacobian_row(y, y.shape, xs, strict, "jacobian", create_graph)
        rows.append(tuple(row) if many_in else row[0])
    return tuple(rows) if many_out else rows[0]


def _jacobian_row(y, shape, xs, strict, op, create_graph):
    """[dy/dx for x in xs], each of shape ``shape + x.shape``: one backward per element of
    ``y`` (a ``y`` that is None or has no graph gives zeros, or is refused with ``strict``)."""
    from ..functional import reshape, stack
    n = math.prod(shape)
    flat = reshape(y, (-1,)) if y is not None and y.requires_grad else None
    per_input = [[] for _ in xs]
    for k in range(n):
        gs = (None,) * len(xs) if flat is None else \
            grad([flat[k]], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
        for j, g in enumerate(_finish(gs, xs, strict, op, create_graph)):
            per_input[j].append(g)
    return [reshape(stack(p, 0) if n else x.new_zeros(0, *x.shape), tuple(shape) + tuple(x.shape))
            for p, x in zip(per_input, xs)]



def _outputs_single(what, func, xs):
    """``func(*xs)`` recorded, checked to be one Tensor of one element."""
    with enable_grad():
        out = func(*xs)
    if not isinstance(out, TensorBase) or out.numel() != 1:
        raise RuntimeError(f"{what}: the function given should return a single Tensor with "
                           "one element")
    return out


def _vectors(what, v, xs):
    """``v`` as a tuple shaped like ``xs``; None only for one single-element input (ones)."""
    if v is None:
        if len(xs) != 1 or xs[0].numel() != 1:
            raise RuntimeError(f"{what}: v can only be None if the input to the function is "
                               "a single Tensor with a single element")
        return (xs[0].new_ones(*xs[0].shape),)
    vs, _ = _tensors(f"{what}: v", v)
    if len(vs) != len(xs):
        raise RuntimeError(f"{what}: v has {len(vs)} tensors but there are {len(xs)} inputs")
    for w, x in zip(vs, xs):
        if tuple(w.shape) != tuple(x.shape):
            raise RuntimeError(f"{what}: v has shape {tuple(w.shape)} but the input has shape "
                               f"{tuple(x.shape)}")
    return vs


def _graph_leaves(xs, create_graph):
    """Leaves to differentiate at: fresh ones, or (``create_graph``) the inputs themselves
    where they already require grad, so the results stay in their graph."""
    if create_graph:
        return tuple(x if x.requires_grad else x.detach().requires_grad_(True) for x in xs)
    return _leaves(xs)


def _finish(gs, xs, strict, what, create_graph):
    """Zeros for the inputs without a result (strict: an error); detached unless
    ``create_graph``."""
    if not create_graph:
        return _zeros_for_unused(gs, xs, strict, what)
    if strict and None in gs:
        _zeros_for_unused(gs, xs, strict, what)  # raises, naming the input
    return tuple(x.new_zeros(*x.shape) if g is None else g for g, x in zip(gs, xs))


def _first_grads(what, func, xs):
    """(output, gradient w.r.t. each input recorded, indices whose gradient has a graph)."""
    out = _outputs_single(what, func, xs)
    gs = grad([out], xs, create_graph=True, allow_unused=True) if out.requires_grad else \
        (None,) * len(xs)
    live = [i for i, g in enumerate(gs) if g is not None and g.requires_grad]
    return out, gs, live


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)``: the (detached) output of a scalar function and the
    product of ``v`` with its Hessian, shaped like the inputs."""
    xs, many = _tensors("vhp: inputs", inputs)
    xs = _graph_leaves(xs, create_graph)
    vs = _vectors("vhp", v, xs)
    out, gs, live = _first_grads("vhp", func, xs)
    res = (None,) * len(xs)
    if live:
        res = grad([gs[i] for i in live], xs, grad_outputs=[vs[i] for i in live],
                   create_graph=create_graph, allow_unused=True)
    res = _finish(res, xs, strict, "vhp", create_graph)
    return out.detach(), (res if many else res[0])


def _forward_product(outs, xs, vs, create_graph):
    """J v for ``outs`` computed from ``xs``, by the double-vjp trick: back(u) = J^T u is
    linear in u, and its gradient with respect to u along v is J v. A list over ``outs``
    (None where nothing reaches them)."""
    us = [o.new_zeros(*o.shape).requires_grad_(True) for o in outs]
    with enable_grad():
        back = grad(outs, xs, grad_outputs=us, create_graph=True, allow_unused=True)
    used = [i for i, b in enumerate(back) if b is not None and b.requires_grad]
    if not used:
        return [None] * len(outs)
    return list(grad([back[i] for i in used], us, grad_outputs=[vs[i] for i in used],
                     create_graph=create_graph, allow_unused=True))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)``: the (detached) output of a scalar function and its Hessian
    times ``v``, by a double backward as PyTorch's (equal to :func:`vhp` where the Hessian
    is symmetric)."""
    xs, many = _tensors("hvp: inputs", inputs)
    xs = _graph_leaves(xs, create_graph)
    vs = _vectors("hvp", v, xs)
    out, gs, live = _first_grads("hvp", func, xs)
    res = [None] * len(xs)
    if live:  # the Jacobian of the gradient is the Hessian
        hv = _forward_product([gs[i] for i in live], xs, vs, create_graph)
        for k, i in enumerate(live):
            res[i] = hv[k]
    res = _finish(res, xs, strict, "hvp", create_graph)
    return out.detach(), (res if many else res[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``: the (detached) outputs and the Jacobian times ``v``, shaped
    like the outputs; by the double-vjp trick (the gradient of ``J^T u`` w.r.t. ``u``), as
    PyTorch does without forward mode."""
    xs, many_in = _tensors("jvp: inputs", inputs)
    xs = _graph_leaves(xs, create_graph)
    vs = _vectors("jvp", v, xs)
    with enable_grad():
        outs = func(*xs)
    ys, many_out = _tensors("jvp: the function's outputs", outs)
    res = [None] * len(ys)
    live = [j for j, y in enumerate(ys) if y.requires_grad]
    if live:
        jv = _forward_product([ys[j] for j in live], xs, vs, create_graph)
        for k, j in enumerate(live):
            res[j] = jv[k]
    res = _finish(res, ys, strict, "jvp", create_graph)
    ys = tuple(y.detach() for y in ys)
    return (ys if many_out else ys[0]), (res if many_out else res[0])


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function at ``inputs``: for one input a tensor of shape
    ``input.shape * 2``; for a tuple, a tuple of tuples (``H[i][j]`` of shape
    ``inputs[i].shape + inputs[j].shape``). One backward per element of the gradient."""
    _strategy("hessian", outer_jacobian_strategy, vectorize)
    xs, many = _tensors("hessian: inputs", inputs)
    xs = _graph_leaves(xs, create_graph)
    out, gs, live = _first_grads("hessian", func, xs)
    rows = [tuple(_jacobian_row(gs[i] if i in live else None, x.shape, xs, strict, "hessian",
                                create_graph)) for i, x in enumerate(xs)]
    return tuple(rows) if many else rows[0][0]
