"""``torch.autograd.forward_ad``: forward-mode AD's dual-tensor API (``dual_level``,
``make_dual``, ``unpack_dual``) on xpnn's reverse-mode engine.

xpnn has no forward mode. A dual tensor here is a tensor whose operations are recorded in
the ordinary graph, and its tangent is computed when asked for: :func:`unpack_dual` of a
tensor ``y`` computed from the level's dual inputs ``x_i`` (tangents ``t_i``) returns
``sum_i J_i t_i`` by the double-vjp trick of :func:`xpnn.func.jvp`: ``g(u) = sum_i J_i^T u``
is linear in ``u``, and its gradient with respect to ``u`` along the ``t_i`` is the JVP.
That costs two backward sweeps per tensor unpacked (cached per tensor within the level),
and needs each op's ``backward_graph`` (an op without one raises NotImplementedError
naming it).

The recording is hidden where PyTorch has none. A dual tensor made from a primal that does
not require grad is a :class:`_Hidden` tensor, and so is every tensor computed from hidden
ones alone while the level is open (a recorder set on ``function_base._tracer`` retypes
the outputs of each op): it reports ``requires_grad`` False, ``grad_fn`` None, prints as
PyTorch prints a dual tensor (with ``tangent=``) and refuses ``backward()`` as PyTorch
does. A tensor that also depends on something that requires grad (a parameter) is a plain
Tensor in the one graph, as in PyTorch; its tangent keeps the graph to the parameters
(``create_graph``), so a loss built from tangents trains. When the level exits, the hidden
tensors are cut from the graph (plain tensors that do not require grad).

Known differences from PyTorch (each follows from computing tangents by reverse mode):

* Under ``no_grad`` nothing is recorded, so tensors computed there have no tangent
  (PyTorch propagates tangents regardless of grad mode).
* A backward through the graph (a user's ``loss.backward()``) frees the saved values of
  the hidden nodes too: unpack tangents before it (or pass ``retain_graph=True``);
  tangents unpacked before are cached. Likewise an in-place change of a tensor that an
  op saved refuses (as backward does) the tangents of what that op computed, unless they
  were unpacked before the change; and an in-place change of a dual tensor does not reach
  its primal's data on every backend.
* A tensor that requires grad prints without ``tangent=``; ``autograd.grad`` and
  ``autograd.backward`` called with a hidden tensor as output run instead of refusing;
  a plain tensor changed in place by a dual one (``buf += dual``) reports
  ``requires_grad`` True; ``requires_grad_()`` on a hidden tensor makes it a leaf and drops
  its tangent.
* A tangent on another backend or device than its primal is refused (PyTorch accepts it
  and fails later); one of another dtype is kept for :func:`unpack_dual` of the dual
  tensor itself and cast to the primal's dtype for the products.
* A custom ``autograd.Function``'s ``jvp`` is not called: its tangent comes from its
  ``backward`` by the double-vjp trick, so that backward must be differentiable (written
  with xpnn ops, not ``once_differentiable``). The values agree wherever ``jvp`` is the
  derivative ``backward`` is the adjoint of. A Function with a ``jvp`` and no backward
  raises NotImplementedError naming it.
* The level holds ``function_base._tracer`` (calling any recorder set before it): inside
  it ``utils.checkpoint`` runs its function plainly (keeping the activations) and
  ``onnx.export`` refuses, as with any tracer set.
* The level is process-wide, not per thread.
"""
from __future__ import annotations

import contextlib
import weakref
from typing import NamedTuple

from . import function_base as _fb
from .grad_mode import enable_grad
from .tensor_base import TensorBase

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

_current_level = -1
_level = None  # the open level's _Level, or None


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the primal and its tangent (None without one)."""

    primal: TensorBase
    tangent: TensorBase | None


# -- levels ----------------------------------------------------------------------------------
class _Level:
    """The state of the open level: its dual inputs and their tangents, the tangents already
    computed, the hidden tensors to cut on exit, and the recorder that hides them."""

    def __init__(self):
        # id(dual) -> (dual, its version then, the sweeps' input for it, tangent as given)
        self.duals = {}
        self.cache = {}     # id(tensor) -> (tensor, version, tangent)
        self.hidden = []    # weak references to every _Hidden tensor of the level
        self.paused = 0     # > 0 while unpack_dual's own sweeps run (nothing is hidden)
        self.prev = None    # the recorder that was set before ours

    def record(self, cls, inputs, params, outs):
        """``function_base._tracer``'s hook, called after every op: the outputs of an op
        whose inputs include hidden tensors and nothing else that requires grad become
        hidden too."""
        if self.prev is not None:
            self.prev.record(cls, inputs, params, outs)
        if self.paused:
            return
        hidden = False
        for t in inputs:
            if isinstance(t, TensorBase) and t._rg:
                if type(t) is not _Hidden:
                    return  # depends on something that requires grad: visibly recorded
                hidden = True
        if not hidden:
            return
        from ..tensor import Tensor  # the ops build on this module
        for o in (outs if isinstance(outs, (tuple, list)) else (outs,)):
            # a PyTorch-style Function's outputs join its node after this call
            if type(o) is Tensor and (o._rg or cls._ctx_style) and \
                    not any(o is t for t in inputs):
                self.hide(o)

    def hide(self, t):
        t.__class__ = _Hidden
        self.hidden.append(weakref.ref(t))

    @contextlib.contextmanager
    def sweeping(self):
        self.paused += 1
        try:
            with enable_grad():
                yield
        finally:
            self.paused -= 1


def enter_dual_level():
    """Open a forward-AD level and return its number (0: one level at a time, as PyTorch
    2.13 allows)."""
    global _current_level, _level, _Hidden
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    if _Hidden is None:
        _Hidden = _hidden_class()
    _level = _Level()
    _level.prev, _fb._tracer = _fb._tracer, _level
    _current_level = 0
    return _current_level


def exit_dual_level(*, level=None):
    """Close the open level: every tangent of it is gone, and the hidden tensors become
    plain tensors cut from the graph."""
    global _current_level, _level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one "
                           "that was created. This is not supported.")
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    state, _level, _current_level = _level, None, -1
    if _fb._tracer is state:
        _fb._tracer = state.prev
    from ..tensor import Tensor
    for ref in state.hidden:
        t = ref()
        if t is not None and type(t) is _Hidden:
            t._node, t._idx, t._rg = None, 0, False
            t.__class__ = Tensor


class dual_level(contextlib.ContextDecorator):
    """Context manager (or decorator) around :func:`enter_dual_level` and
    :func:`exit_dual_level`; ``with dual_level() as level`` gives the level's number."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False


# -- dual tensors ----------------------------------------------------------------------------
def make_dual(tensor, tangent, *, level=None):
    """A dual tensor: ``tensor``'s values (sharing its data) with ``tangent`` attached at
    the open level.

    Args:
        tensor: the primal, floating point or complex. If it requires grad the dual tensor
            is a view of it in its graph (gradients reach it), else it requires no grad
            either.
        tangent: the direction, of the primal's shape (and backend and device).
        level: the level (default: the open one).

    Returns:
        Tensor: the dual tensor.
    """
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level "
                           "exists, make sure to enter_dual_level() first.")
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, TensorBase):
            raise AttributeError(f"make_dual: expected the {name} to be a Tensor, got "
                                 f"{type(t).__name__}")
        if not (t.is_floating_point() or t.is_complex()):
            raise ValueError(f"Expected {name} to be floating point or complex, but got: "
                             f"{_dtype_text(t.dtype)}")
    if level != _current_level:
        raise RuntimeError("Invalid level given to _make_dual")
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            "original Tensor, this is not supported. Tensor is of size "
            f"{list(tensor.shape)} while the given forward gradient is of size "
            f"{list(tangent.shape)}.")
    if tangent._be is not tensor._be:
        raise RuntimeError(f"make_dual: the tangent lives on {tangent._be.name}:"
                           f"{tangent._be.device} but the primal on {tensor._be.name}:"
                           f"{tensor._be.device}; move it with .to() first")
    state = _level
    if type(tensor) is _Hidden or _reaches_dual(tensor, state):
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a "
                           f"forward gradient at the same level {level} is not supported.")
    with state.sweeping():
        if tensor._rg:  # a view in the primal's graph, as PyTorch's ViewBackward0
            dual = tensor.view(tensor.shape)
            # the sweeps' input: the view's node as made now (an in-place change of the
            # dual later moves the dual itself to a new node)
            source = dual._result(dual.array, dual._be, dual._node, dual._idx)
        else:
            source = tensor.detach()  # the hidden graph's leaf, sharing the primal's data
            source._rg = True
            state.hide(source)
            dual = _Alias.apply(source)  # not a view: a dual can change in place
            state.hide(dual)
    state.duals[id(dual)] = (dual, dual._vc[0], source, tangent)
    return dual


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor`` at the open level.

    The primal holds ``tensor``'s values without a tangent; the tangent is the one
    :func:`make_dual` attached, or for a tensor computed from dual tensors the sum over the
    level's dual inputs of ``J_i t_i`` (None where none of them reaches it, and after the
    level exits). Computed by two backward sweeps, once per tensor within the level.

    Returns:
        UnpackedDualTensor(primal, tangent).
    """
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    if not isinstance(tensor, TensorBase):
        raise TypeError(f"_unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    if level != _current_level:
        raise RuntimeError("Invalid level given to _fw_primal")
    state = _level
    tangent = _tangent(tensor, state)
    if type(tensor) is _Hidden or not tensor._rg:
        primal = tensor.detach()
    else:  # keeps the graph for reverse mode, not for the tangents
        with state.sweeping():
            primal = _PrimalView.apply(tensor)
        state.cache[id(primal)] = (primal, primal._vc[0], None)
    return UnpackedDualTensor(primal, tangent)


def _tangent(y, state):
    """The tangent of ``y`` at ``state``'s level (cached per tensor and version)."""
    given = state.duals.get(id(y))
    if given is not None and given[0] is y and given[1] == y._vc[0]:
        return given[3]
    if not y._rg or not state.duals:
        return None
    hit = state.cache.get(id(y))
    if hit is not None and hit[0] is y and hit[1] == y._vc[0]:
        return hit[2]
    sources = [src for _, _, src, _ in state.duals.values()]
    tangents = [t if t.dtype == src.dtype else t.to(src.dtype)
                for _, _, src, t in state.duals.values()]
    graph = type(y) is not _Hidden or any(t._rg for t in tangents)
    from . import grad  # the package's entry point imports this module
    try:
        with state.sweeping():
            u = y.new_zeros(*y.shape).requires_grad_(True)
            back = grad([y], sources, grad_outputs=[u], retain_graph=True, create_graph=True,
                        allow_unused=True)
            used = [i for i, b in enumerate(back) if b is not None and b._rg]
            if not used:
                out = None if all(b is None for b in back) else y.new_zeros(*y.shape)
            else:
                out = grad([back[i] for i in used], [u],
                           grad_outputs=[tangents[i] for i in used], retain_graph=True,
                           create_graph=graph, allow_unused=True)[0]
                if out is None:
                    out = y.new_zeros(*y.shape)
                elif not graph:
                    out = out.detach()
    except NotImplementedError as e:
        for node in _graph_nodes(y):
            if node._ctx_style and type(node).backward is _fb.Function.backward:
                raise NotImplementedError(
                    f"unpack_dual: the autograd.Function {type(node).__name__} defines no "
                    "backward; xpnn computes tangents by reverse mode (a Function's jvp is "
                    "not called), so it needs a differentiable backward") from e
        raise NotImplementedError(f"unpack_dual: the tangent is computed by a double "
                                  f"backward here, which an op does not support: {e}") from e
    state.cache[id(y)] = (y, y._vc[0], out)
    return out


def _graph_nodes(t):
    """The nodes of ``t``'s graph, each once."""
    seen, stack = set(), [t._node] if t._node is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(x._node for x in node.__dict__.get("inputs", ())
                     if isinstance(x, TensorBase) and x._node is not None)


def _reaches_dual(t, state):
    """Whether ``t``'s graph reaches a dual input of ``state`` (then it has a tangent)."""
    duals = {id(d) for d, _, _, _ in state.duals.values()}
    return bool(duals) and (id(t) in duals or any(
        type(x) is _Hidden or id(x) in duals
        for node in _graph_nodes(t) for x in node.__dict__.get("inputs", ())))


def _dtype_text(dtype):
    from .. import backend as B
    return B.dtype_name(dtype)


class _Alias(_fb.Function):
    """A dual tensor of a primal that does not require grad: the primal's data, one node
    above the hidden leaf."""

    @staticmethod
    def forward(ctx, x):
        return x.detach()

    @staticmethod
    def backward(ctx, dy):
        return dy


class _PrimalView(_fb.Function):
    """The primal of a tensor that requires grad: its values in its graph for the user's
    backward, but a wall for :func:`_tangent`'s sweeps (the primal has no tangent)."""

    @staticmethod
    def forward(ctx, x):
        return x.view(x.shape)

    @staticmethod
    def backward(ctx, dy):
        return None if _level is not None and _level.paused else dy


def _hidden_class():
    from .. import _printing, backend as B
    from ..tensor import Tensor

    class Hidden(Tensor):
        """A tensor recorded only for its tangents: to the user it does not require grad
        (see the module's docstring)."""

        __slots__ = ()

        @property
        def requires_grad(self):
            return False

        @requires_grad.setter
        def requires_grad(self, flag):
            self.requires_grad_(flag)

        def requires_grad_(self, requires_grad=True):
            if requires_grad:  # a leaf of its own: the hidden graph (and tangent) is left
                self._node, self._idx, self.__class__ = None, 0, Tensor
                return Tensor.requires_grad_(self, True)
            return self

        @property
        def grad_fn(self):
            return None

        @property
        def is_leaf(self):
            return True

        grad = property(lambda self: self._grad, Tensor.grad.fset)

        def backward(self, gradient=None, retain_graph=None, create_graph=False,
                     inputs=None):
            raise RuntimeError("element 0 of tensors does not require grad and does not "
                               "have a grad_fn")

        def retain_grad(self):
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has "
                               "requires_grad=False")

        def register_hook(self, hook):
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "does not require grad")

        def __repr__(self):
            """As PyTorch prints a dual tensor: its values, then ``tangent=...`` among the
            suffixes (Tensor.__repr__'s, less the hidden grad_fn)."""
            plain = self.detach()
            tangent = _tangent(self, _level) if _level is not None else None
            if tangent is None or self._be.is_meta:
                return Tensor.__repr__(plain)
            suffixes = [] if self.backend == "numpy" else [f"backend={self.backend!r}"]
            if not self._be.on_host:
                suffixes.append(f"device={_printing.device_text(self.device)!r}")
            suffixes.append(f"tangent={tangent!r}")
            return _printing.tensor_repr(plain.numpy(), B.dtype_name(self.dtype),
                                         B.dtype_name(B.get_default_dtype()), suffixes)

        def __reduce__(self):  # saved or copied as the plain tensor the user sees
            return self.detach().__reduce__()

        def __deepcopy__(self, memo):
            out = memo[id(self)] = self.detach().__deepcopy__(memo)
            return out

    Hidden.__name__ = Hidden.__qualname__ = "Tensor"
    return Hidden


_Hidden = None  # the class, made when the first level opens (Tensor is defined by then)
