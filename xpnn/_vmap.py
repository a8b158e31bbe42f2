"""``torch.func.vmap`` and ``stack_module_state`` (re-exported by :mod:`xpnn.func`).

xpnn has no batching rules: ``vmap`` calls the function once per slice along the mapped
dimensions (a Python loop) and stacks the results, so the values and gradients are
PyTorch's and the speed is the loop's.
"""
from __future__ import annotations

import contextlib
import functools

from . import _pytree
from . import backend as B
from . import backend_rng_state as S
from .autograd import TensorBase
from .functional import stack


# -- vmap ------------------------------------------------------------------------------------
def _check_randomness(what, randomness):
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"{what}: randomness must be 'error', 'different' or 'same', got "
                           f"{randomness!r}")


def _check_chunk(what, chunk_size):
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"{what}: chunk_size should be None or a positive int, got "
                         f"{chunk_size!r}")


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs: the results of ``func`` on each slice,
    stacked along ``out_dims``.

    Args:
        func: a function of tensors (and other values) returning tensors (in tuples, lists,
            dicts).
        in_dims: the dimension to map over for each positional argument: an int or None
            (not mapped) for all, or a tuple with one entry per argument, each an int, None
            or a structure matching that argument. Keyword arguments are not mapped.
        out_dims: where the mapped dimension goes in each output (int, or a structure
            matching the outputs; None: the output of the first slice, unbatched).
        randomness: "different" draws anew for each slice (what a loop does); "same"
            replays the generators' state for every slice, so each sees the same draws;
            "error" (the default): a random op inside raises RuntimeError, as PyTorch's.
        chunk_size: accepted; the loop runs one slice at a time anyway.

    Returns:
        The mapped function.

    xpnn has no batching rules: this runs ``func`` once per slice (a Python loop) and stacks,
    so the values and gradients (they flow through the slicing and stacking) are PyTorch's,
    the speed that of the loop. Nested vmaps nest loops.
    """
    _check_randomness("vmap", randomness)
    _check_chunk("vmap", chunk_size)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = f"vmap(f, in_dims={in_dims!r}, ...)(<inputs>)"
        if isinstance(in_dims, (tuple, list)) and len(in_dims) != len(args):
            raise ValueError(f"{what}: in_dims has {len(in_dims)} entries but {len(args)} "
                             "positional inputs were passed")
        dims_tree = tuple(in_dims) if isinstance(in_dims, (tuple, list)) else in_dims
        if dims_tree is not None and not isinstance(dims_tree, (int, tuple)):
            raise ValueError(f"{what}: in_dims must be an int, None or a tuple, got "
                             f"{type(in_dims).__name__}")
        leaves, spec = _pytree.flatten(args)
        dims = _pytree.broadcast_prefix(dims_tree, spec, what)
        size, norm = None, []
        for x, d in zip(leaves, dims):
            if d is None:
                norm.append(None)
                continue
            if not isinstance(d, int):
                raise ValueError(f"{what}: an in_dim must be an int or None, got {d!r}")
            if not isinstance(x, TensorBase):
                raise ValueError(f"{what}: got in_dim={d} for an input of type "
                                 f"{type(x).__name__}; only Tensors can be mapped over (use "
                                 "None for it)")
            if not -x.ndim <= d < x.ndim:
                raise ValueError(f"{what}: in_dim={d} is out of range for an input of shape "
                                 f"{x.shape}")
            d %= x.ndim
            if size is not None and x.shape[d] != size:
                raise ValueError(f"{what}: expected all mapped inputs to have the same size "
                                 f"in the mapped dimension, got {size} and {x.shape[d]} "
                                 f"(shape {x.shape}, in_dim {d})")
            size = x.shape[d]
            norm.append(d)
        if size is None:
            raise ValueError(f"{what}: at least one input must be a Tensor with an in_dim "
                             "that is not None")
        refuse = B.refuse_random(
            f"{what}: called a random operation while in randomness='error' mode; pass "
            "randomness='different' or 'same' to vmap, or draw outside it") \
            if randomness == "error" else contextlib.nullcontext()
        with refuse:
            if size == 0:  # f runs once on zero slices, for the shapes of the outputs
                part = [x if d is None else _zero_slice(x, d) for x, d in zip(leaves, norm)]
                return _stacked(what, [func(*_pytree.unflatten(part, spec), **kwargs)],
                                out_dims, empty=True)
            state = S.get_rng_state() if randomness == "same" else None
            results = []
            for b in range(size):
                if state is not None:
                    S.set_rng_state(state)
                part = [x if d is None else x.select(d, b) for x, d in zip(leaves, norm)]
                results.append(func(*_pytree.unflatten(part, spec), **kwargs))
        return _stacked(what, results, out_dims)
    return wrapper


def _zero_slice(x, d):
    """Zeros shaped as a slice of ``x`` along its empty dim ``d``, in x's graph when x
    requires grad (so the empty result does too, as PyTorch's)."""
    z = x.new_zeros(x.shape[:d] + x.shape[d + 1:])
    return z + x.sum() if x.requires_grad else z  # the sum of nothing: 0


def _stacked(what, results, out_dims, empty=False):
    """The results of the slices stacked along ``out_dims``; ``empty``: the one result
    stands for a mapped dimension of size 0 (its stack narrowed to nothing)."""
    flat = [_pytree.flatten(r) for r in results]
    spec = flat[0][1]
    for _, s in flat[1:]:
        if s != spec:
            raise RuntimeError(f"{what}: f returned outputs of different structures for "
                               f"different slices: {_pytree.describe(spec)} and "
                               f"{_pytree.describe(s)}")
    dims = _pytree.broadcast_prefix(tuple(out_dims) if isinstance(out_dims, list) else out_dims,
                                    spec, f"{what}: out_dims")
    out = []
    for k, d in enumerate(dims):
        first = flat[0][0][k]
        if d is None:
            out.append(first)
            continue
        if not isinstance(first, TensorBase):
            raise ValueError(f"{what}: f must only return Tensors (out_dims None for other "
                             f"values), got {type(first).__name__}")
        nd = first.ndim + 1
        if not isinstance(d, int) or not -nd <= d < nd:
            raise ValueError(f"{what}: out_dims={d!r} is out of range for an output with "
                             f"{first.ndim} dimensions (plus the mapped one)")
        y = stack([f[0][k] for f in flat], d % nd)
        out.append(y.narrow(d % nd, 0, 0) if empty else y)
    return _pytree.unflatten(out, spec)


# -- modules ---------------------------------------------------------------------------------
def stack_module_state(models):
    """``(params, buffers)``: each parameter and buffer of identically built ``models``
    stacked along a new first dimension, by name, for ``vmap(functional_call...)`` over an
    ensemble. Stacked parameters are new leaves requiring grad (where the models' do)."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: expected at least one model, got an empty "
                           "sequence")
    if len({m.training for m in models}) != 1:
        raise RuntimeError("stack_module_state: expected all models to have the same "
                           "training/eval mode")
    first = models[0]

    def stacked(name, tensors):
        flags = {t.requires_grad for t in tensors}
        if len(flags) > 1:
            raise RuntimeError(f"stack_module_state: {name!r} requires grad in some models "
                               "and not in others")
        out = stack(tensors, 0).detach()
        return out.requires_grad_(True) if flags == {True} else out

    params = {name: stacked(name, [dict(m.named_parameters())[name] for m in models])
              for name, _ in first.named_parameters()}
    buffers = {name: stacked(name, [dict(m.named_buffers())[name] for m in models])
               for name, _ in first.named_buffers()}
    return params, buffers
