"""``torch.autograd.functional``'s first-order tools: vector-Jacobian products and Jacobians
of a function of tensors, by reverse mode (one backward per output element for a Jacobian).

The second-order ones (hessian, hvp, vhp, and jvp, which PyTorch computes by a double
backward) need ``create_graph=True``, which xpnn's engine does not record.
"""
from __future__ import annotations

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


def _no_graph(what, create_graph):
    if create_graph:
        raise NotImplementedError(f"{what}: create_graph=True (higher-order gradients) is "
                                  "not supported by xpnn")


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
    _no_graph("vjp", create_graph)
    xs, many_in = _tensors("vjp: inputs", inputs)
    xs = _leaves(xs)
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
    gs = grad(ys, xs, grad_outputs=list(vs), allow_unused=True)
    gs = _zeros_for_unused(gs, xs, strict, "vjp")
    ys = tuple(y.detach() for y in ys)
    return (ys if many_out else ys[0]), (gs if many_in else gs[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for one input and one output a tensor of
    shape ``output.shape + input.shape``; tuples of them (nested, outputs first) when
    ``inputs`` or the outputs are tuples. One backward per output element."""
    _no_graph("jacobian", create_graph)
    if strategy != "reverse-mode":
        raise NotImplementedError(f"jacobian: strategy={strategy!r} (forward mode) is not "
                                  "supported by xpnn; use 'reverse-mode'")
    from ..functional import reshape, stack
    xs, many_in = _tensors("jacobian: inputs", inputs)
    xs = _leaves(xs)
    with enable_grad():
        outs = func(*xs)
    ys, many_out = _tensors("jacobian: the function's outputs", outs)
    rows = []
    for i, y in enumerate(ys):
        flat, n = reshape(y, (-1,)), y.numel()
        per_input = [[] for _ in xs]
        for k in range(n):
            if not y.requires_grad:
                gs = (None,) * len(xs)
            else:
                gs = grad([flat[k]], xs, retain_graph=True, allow_unused=True)
            gs = _zeros_for_unused(gs, xs, strict, "jacobian")
            for j, g in enumerate(gs):
                per_input[j].append(g)
        row = []
        for j, x in enumerate(xs):
            if n:
                jac = stack(per_input[j], 0)
            else:
                jac = x.new_zeros(0, *x.shape)
            row.append(reshape(jac, tuple(y.shape) + tuple(x.shape)))
        rows.append(tuple(row) if many_in else row[0])
    return tuple(rows) if many_out else rows[0]
