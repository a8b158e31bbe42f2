"""``torch.func``: gradients, Jacobians and Hessians as function transforms, ``vmap`` and
``functional_call``, on xpnn's reverse-mode autograd.

How the transforms work here (xpnn has no functorch levels, batching rules or forward mode):

* ``grad``, ``vjp``, ``jacrev`` ... call the function on differentiable stand-ins for the
  inputs and differentiate with :func:`xpnn.autograd.grad`. An input that does not require
  grad becomes a fresh leaf (``detach().requires_grad_()``); an input that already requires
  grad, because an outer transform or the user's own autograd is differentiating through
  it, becomes a copy in that graph (``clone()``), so the inner derivative only sees paths
  through the copy (``grad(lambda x: grad(lambda y: x * y)(x))`` is 1, not 2).
* Results are cut from the graph (detached), unless the transform is nested inside another
  one or an input requires grad: then the inner derivative is taken with
  ``create_graph=True`` and stays differentiable, so ``grad(grad(f))``, ``jacrev(jacrev(f))``
  and ``hessian`` work. That second sweep needs each op's ``backward_graph`` (the core ops
  have one; others raise NotImplementedError).
* ``jacfwd`` and ``jvp`` have no forward mode underneath: ``jacfwd`` returns the same
  Jacobian computed by reverse mode (one backward per output element), ``jvp`` uses the
  double-vjp trick (differentiating ``J^T u`` with respect to ``u``), which needs
  ``backward_graph`` as well.
* ``vmap`` is a loop: it calls the function once per slice along the mapped dimensions and
  stacks the results. The values and gradients are those of PyTorch's vmap; the speed is
  the loop's.
"""
from __future__ import annotations

import functools
import threading
import warnings

from . import _pytree
from . import backend as B
from .autograd import TensorBase, enable_grad, grad as _autograd_grad, is_grad_enabled
from .autograd.functional import _forward_product, _jacobian_row
from .nn.utils.stateless import functional_call
from ._vmap import _check_chunk, _check_randomness, stack_module_state, vmap

_state = threading.local()


def _depth():
    """How many differentiating transforms (grad, vjp, jacrev, ...) are running around us."""
    return getattr(_state, "depth", 0)


class _Transform:
    """The region where a transform runs the user's function: grad mode on (a transform
    ignores an outer ``no_grad``, as PyTorch's does) and the nesting depth one deeper."""

    def __enter__(self):
        self._grad = enable_grad()
        self._grad.__enter__()
        _state.depth = _depth() + 1

    def __exit__(self, *exc):
        _state.depth -= 1
        self._grad.__exit__(*exc)


def _connected(tensors):
    """Whether results must stay differentiable: an outer transform is running, or the
    user's autograd is recording through one of the inputs."""
    return _depth() > 0 or (is_grad_enabled() and any(t.requires_grad for t in tensors))


def _stand_in(x):
    """What the function sees in place of input ``x`` (see the module's docstring)."""
    return x.clone() if x.requires_grad else x.detach().requires_grad_(True)


def _tensor_leaves(what, tree):
    leaves, spec = _pytree.flatten(tree)
    for x in leaves:
        if not isinstance(x, TensorBase):
            raise TypeError(f"{what}: expected only Tensors (in tuples, lists or dicts), got "
                            f"{type(x).__name__}")
    return leaves, spec


def _checked_tangents(what, primal_leaves, tangents, dtypes=False):
    """The Tensors of ``tangents``, refused naming ``what`` unless they have the structure
    and shapes (and with ``dtypes``, the dtypes) of ``primal_leaves`` (a :func:`_tensor_leaves`
    pair)."""
    leaves, spec = primal_leaves
    vs, v_spec = _tensor_leaves(f"{what}: tangents", tangents)
    if v_spec != spec:
        raise RuntimeError(f"{what}: expected tangents with the structure of the primals, "
                           f"{_pytree.describe(spec)}, got {_pytree.describe(v_spec)}")
    for i, (x, v) in enumerate(zip(leaves, vs)):
        if v.shape != x.shape or (dtypes and v.dtype != x.dtype):
            raise RuntimeError(
                f"{what}: tangent {i} has shape {tuple(v.shape)} and dtype "
                f"{B.dtype_name(v.dtype)}, but its primal has shape {tuple(x.shape)} and "
                f"dtype {B.dtype_name(x.dtype)}")
    return vs


def _detach_tree(tree):
    leaves, spec = _pytree.flatten(tree)
    return _pytree.unflatten([x.detach() if isinstance(x, TensorBase) else x for x in leaves],
                             spec)


def _argnums(what, argnums, n_args):
    """The positions ``argnums`` names, checked against the ``n_args`` passed."""
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, tuple) or not nums or \
            not all(isinstance(i, int) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"{what}: argnums must be an int or a non-empty tuple of ints, got "
                        f"{argnums!r}")
    out = []
    for i in nums:
        if not -n_args <= i < n_args:
            raise RuntimeError(f"{what}: got argnums={argnums!r}, but only {n_args} positional "
                               "inputs were passed")
        out.append(i % n_args)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{what}: argnums {argnums!r} names the same input twice")
    return out


class _Inputs:
    """The differentiated arguments of one call: their tensors, the stand-ins the function
    gets, and how to rebuild the arguments and shape results like them."""

    def __init__(self, what, args, argnums):
        self.single = isinstance(argnums, int)
        self.nums = _argnums(what, argnums, len(args))
        self.leaves, self.spec = _tensor_leaves(f"{what}: the differentiated inputs",
                                                [args[i] for i in self.nums])
        for x in self.leaves:
            if not x.is_floating_point():
                raise RuntimeError(f"{what}: only floating point inputs can be "
                                   f"differentiated, got {B.dtype_name(x.dtype)} of shape "
                                   f"{tuple(x.shape)}")
        self.connect = _connected(self.leaves)
        self.args = list(args)

    def enter(self):
        """The arguments with stand-ins (call inside the transform's region)."""
        self.xs = [_stand_in(x) for x in self.leaves]
        parts = _pytree.unflatten(self.xs, self.spec)
        args = list(self.args)
        for i, part in zip(self.nums, parts):
            args[i] = part
        return args

    def shaped(self, per_leaf):
        """``per_leaf`` (one value per differentiated tensor) in the arguments' structure:
        for an int ``argnums`` that argument's, else a tuple over ``argnums``."""
        parts = _pytree.unflatten(per_leaf, self.spec)
        return parts[0] if self.single else tuple(parts)


def _split_aux(what, res, has_aux):
    if not has_aux:
        return res, None
    if not isinstance(res, tuple) or len(res) != 2:
        raise RuntimeError(f"{what}: with has_aux=True the function must return a tuple "
                           f"(output, aux), got {type(res).__name__}")
    return res


def _gradients(outs, cts, xs, create_graph, nested):
    """d(sum of outs * cts)/d xs: zeros where nothing reaches an input; detached unless
    ``create_graph``. ``nested``: an outer transform differentiates through the result."""
    live = [(o, c) for o, c in zip(outs, cts) if o.requires_grad]
    gs = (None,) * len(xs)
    if live:
        run = functools.partial(_autograd_grad, [o for o, _ in live], xs,
                                grad_outputs=[c for _, c in live], retain_graph=True,
                                allow_unused=True)
        try:
            gs = run(create_graph=create_graph)
        except NotImplementedError as e:
            # an op without a second-order backward (BatchNorm, ...): where only the user's
            # own requires_grad asked for a differentiable result (no outer transform),
            # the first-order gradient, cut from the graph (said in a warning), rather than
            # no gradient at all
            if not create_graph or nested:
                raise
            warnings.warn(f"torch.func: the inputs require grad, but the gradient cannot "
                          f"stay differentiable ({e}); it is returned cut from the graph. "
                          "Pass detached inputs (v.detach()) to silence this.", UserWarning,
                          stacklevel=4)
            gs, create_graph = run(create_graph=False), False
    out = []
    for g, x in zip(gs, xs):
        g = x.new_zeros(*x.shape) if g is None else g
        out.append(g if create_graph else g.detach())
    return out


# -- grad, grad_and_value --------------------------------------------------------------------
def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning ``(gradient, value)`` of ``func`` (``(gradient, (value, aux))``
    with ``has_aux``).

    Args:
        func: a function of tensors returning a 0-d Tensor (or ``(Tensor, aux)``).
        argnums: the position (int) or positions (tuple) of the arguments to differentiate;
            each may be a Tensor or a tuple/list/dict of Tensors (gradients come back in the
            same structure; a tuple of them for a tuple ``argnums``).
        has_aux: ``func`` returns ``(output, aux)``; aux is returned as it is (detached
            where the gradient is).
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = "grad_and_value(f)(*args)"
        inputs = _Inputs(what, args, argnums)
        with _Transform():
            res = func(*inputs.enter(), **kwargs)
            out, aux = _split_aux(what, res, has_aux)
            if not isinstance(out, TensorBase):
                raise RuntimeError(f"{what}: expected f(*args) to return a Tensor, got "
                                   f"{type(out).__name__}")
            if out.ndim != 0:
                raise RuntimeError(f"{what}: expected f(*args) to return a scalar Tensor, "
                                   f"got a tensor of shape {tuple(out.shape)}; maybe you wanted "
                                   "vjp or jacrev")
            gs = _gradients([out], [None], inputs.xs, inputs.connect, _depth() > 1)
        if not inputs.connect:
            out, aux = out.detach(), _detach_tree(aux)
        value = (out, aux) if has_aux else out
        return inputs.shaped(gs), value
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of ``func`` with respect to the arguments at
    ``argnums`` (``(gradient, aux)`` with ``has_aux``); see :func:`grad_and_value`.

    The inputs need not require grad. Nested (``grad(grad(f))``) or given inputs that
    require grad, the gradient stays differentiable (``create_graph``)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


# -- vjp, jvp --------------------------------------------------------------------------------
def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)`` (and aux with ``has_aux``): ``vjp_fn(cotangents)``, with
    cotangents structured like the output, returns a tuple with ``cotangents^T J`` for each
    primal (structured like it). ``vjp_fn`` may be called many times."""
    what = "vjp(f, *primals)"
    inputs = _Inputs(what, primals, tuple(range(len(primals)))) if primals else None
    if inputs is None:
        raise RuntimeError(f"{what}: expected at least one primal")
    with _Transform():
        res = func(*inputs.enter())
        out, aux = _split_aux(what, res, has_aux)
    outs, out_spec = _tensor_leaves(f"{what}: the outputs of f", out)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        cts, ct_spec = _tensor_leaves("vjp_fn: cotangents", cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(f"vjp_fn: expected cotangents with the structure of the "
                               f"output, {_pytree.describe(out_spec)}, got "
                               f"{_pytree.describe(ct_spec)}")
        for o, c in zip(outs, cts):
            if c.shape != o.shape:
                raise RuntimeError(f"vjp_fn: a cotangent has shape {c.shape} but the output "
                                   f"it goes with has shape {o.shape}")
        graph = inputs.connect or _connected(cts) if create_graph is None else create_graph
        with enable_grad():
            gs = _gradients(outs, cts, inputs.xs, graph, _depth() > 0)
        return inputs.shaped(gs)

    if not inputs.connect:
        out, aux = _detach_tree(out), _detach_tree(aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)`` (and aux with ``has_aux``): the outputs and the
    Jacobian-vector product, structured like the outputs. ``primals`` and ``tangents`` are
    tuples of the same structure and shapes.

    xpnn has no forward mode: the product is the gradient of ``J^T u`` with respect to
    ``u`` (two backward sweeps; ops need ``backward_graph``)."""
    what = "jvp(f, primals, tangents)"
    for name, v in (("primals", primals), ("tangents", tangents)):
        if not isinstance(v, tuple):
            raise RuntimeError(f"{what}: expected {name} to be a tuple (f(*{name}) must be "
                               f"a valid call), got {type(v).__name__}")
    inputs = _Inputs(what, primals, tuple(range(len(primals))))
    vs = _checked_tangents(what, _tensor_leaves(what, primals), tangents)
    graph = inputs.connect or _connected(vs)
    with _Transform():
        res = func(*inputs.enter())
        out, aux = _split_aux(what, res, has_aux)
        outs, out_spec = _tensor_leaves(f"{what}: the outputs of f", out)
        live = [j for j, o in enumerate(outs) if o.requires_grad]
        prods = [None] * len(outs)
        if live:
            jv = _forward_product([outs[j] for j in live], inputs.xs, vs, graph)
            for k, j in enumerate(live):
                prods[j] = jv[k]
    prods = [o.new_zeros(*o.shape) if p is None else p if graph else p.detach()
             for p, o in zip(prods, outs)]
    if not graph:
        out, aux = _detach_tree(out), _detach_tree(aux)
    prods = _pytree.unflatten(prods, out_spec)
    return (out, prods, aux) if has_aux else (out, prods)


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)`` as ``torch.func.linearize``: ``jvp_fn(*tangents)`` gives
    ``J @ tangents`` at ``primals``, structured like the output, for tangents structured,
    shaped and typed like ``primals``. Here ``jvp_fn`` evaluates :func:`jvp` at the saved
    primals on each call (xpnn has no graph capture to replay): the same values, the
    function's cost per call."""
    what = "linearize(func, *primals)"
    if not primals:
        raise RuntimeError(f"{what}: expected at least one primal")
    primal_leaves = _tensor_leaves(f"{what}: primals", primals)
    out = vjp(func, *primals)[0]

    def jvp_fn(*tangents):
        _checked_tangents("linearize's jvp_fn", primal_leaves, tangents, dtypes=True)
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


# -- Jacobians and Hessians ------------------------------------------------------------------
def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """A function returning the Jacobian of ``func`` with respect to the arguments at
    ``argnums``, by reverse mode (one backward per output element).

    For an output of shape ``O`` and an input of shape ``I`` the Jacobian has shape
    ``O + I``; outputs in a structure give Jacobians in that structure, each one shaped like
    the differentiated arguments (a tuple over a tuple ``argnums``). With ``has_aux`` it
    returns ``(jacobian, aux)``. ``chunk_size`` is accepted and has no effect."""
    _check_chunk("jacrev", chunk_size)
    return _jacobian("jacrev", func, argnums, has_aux)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian as :func:`jacrev` gives it (same arguments and result): xpnn has no
    forward-mode autodiff, so it is computed by reverse mode; the values are the same,
    only the cost differs (one backward per output element instead of one forward per
    input element)."""
    _check_randomness("jacfwd", randomness)
    return _jacobian("jacfwd", func, argnums, has_aux)


def _jacobian(name, func, argnums, has_aux):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = f"{name}(f)(*args)"
        inputs = _Inputs(what, args, argnums)
        with _Transform():
            res = func(*inputs.enter(), **kwargs)
            out, aux = _split_aux(what, res, has_aux)
            outs, out_spec = _tensor_leaves(f"{what}: the outputs of f", out)
            jacs = [inputs.shaped(_jacobian_row(o, o.shape, inputs.xs, False, name,
                                                inputs.connect)) for o in outs]
        jac = _pytree.unflatten(jacs, out_spec)
        if has_aux:
            return jac, (aux if inputs.connect else _detach_tree(aux))
        return jac
    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar function: ``jacfwd(jacrev(func, argnums), argnums)``, a tensor
    of shape ``input.shape * 2`` for one input (both Jacobians by reverse mode here)."""
    return jacfwd(jacrev(func, argnums), argnums)


__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
           "linearize", "stack_module_state", "vjp", "vmap"]
