"""Finite-difference gradient checking (central differences, float64)."""
from __future__ import annotations

import numpy as np

from .autograd import grad as _autograd_grad
from .tensor import Tensor


class GradcheckError(RuntimeError, AssertionError):
    """Analytic and numeric gradients disagree; the message names the worst element.
    A RuntimeError, as PyTorch's (``except RuntimeError`` catches it), and an
    AssertionError (a failed check in a test)."""


def _project(outputs, weights):
    """sum_k <out_k, w_k>: one scalar whose gradient is J^T w, checking the whole Jacobian
    against a random direction at the cost of one backward."""
    total = None
    for out, w in zip(outputs, weights):
        term = out * Tensor(w, _be=out._be)
        if out.is_complex():  # Re sum(out w): a real scalar, every part of out weighed
            term = term.real
        term = term.sum()
        total = term if total is None else total + term
    return total


def _direction(rng, out):
    """A random direction for an output: complex for a complex output."""
    w = rng.standard_normal(out.shape)
    return w + 1j * rng.standard_normal(out.shape) if out.is_complex() else w


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, fast_mode=False, seed=0, check_undefined_grad=True,
              check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, masked=None):
    """Compare backward() with central differences for every input that requires grad.

    Args:
        fn: callable taking the Tensors in ``inputs`` and returning a Tensor or a tuple.
        inputs: Tensors (or one tuple of them, PyTorch's form); those with requires_grad=True
            are checked and must be float64 or complex128 (whose real and imaginary parts
            are perturbed apart: the gradient is dL/dx + i dL/dy, PyTorch's convention).
        eps, atol, rtol: step and tolerances (|analytic - numeric| <= atol + rtol*|numeric|).
        raise_exception: False returns False on a mismatch instead of raising (PyTorch's).
        nondet_tol, fast_mode: PyTorch's; accepted, nothing changes (backward is
            deterministic here, and every check is already against one random projection
            of the outputs, as PyTorch's fast mode).
        check_forward_ad, check_backward_ad: which derivatives to check (at least one must
            be True, as PyTorch asks). xpnn has no forward mode: its Jacobian-vector
            products (``func.jvp``, ``jacfwd``) come from backward, so checking either is
            the one check of backward against finite differences (a Function's own ``jvp``
            staticmethod is never called).
        check_undefined_grad, check_grad_dtypes, check_batched_grad,
            check_batched_forward_grad, masked: PyTorch's extra checks; accepted, not run.
    Returns:
        True. Raises GradcheckError with the input index, element, analytic and numeric
        values of the worst mismatch (or returns False, ``raise_exception=False``).
    """
    if not (check_forward_ad or check_backward_ad):  # PyTorch's AssertionError
        raise AssertionError("gradcheck: expected at least one of check_forward_ad or "
                             "check_backward_ad to be True")
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = tuple(inputs[0])  # PyTorch's form: gradcheck(fn, (x, y))
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in checked:
        if not str(inputs[i].dtype).endswith(("float64", "complex128")):
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 "
                            "(float32 is too coarse for finite differences)")
    rng = np.random.default_rng(seed)

    def outputs_of(args):
        out = fn(*args)
        return out if isinstance(out, tuple) else (out,)

    outs = outputs_of(inputs)
    be = inputs[checked[0]]._be
    # each direction lives where its output does (fn may move data with .to())
    weights = [o._be.asarray(_direction(rng, o), dtype=o.dtype) for o in outs]
    # by autograd.grad, as PyTorch's: the inputs' .grad (a model's parameters') stay as
    # they were
    grads = _autograd_grad(_project(outs, weights), [inputs[i] for i in checked],
                           allow_unused=True)

    worst = None
    for i, g in zip(checked, grads):
        x = inputs[i]
        cplx = x.is_complex()
        kind = np.complex128 if cplx else np.float64
        host = x.numpy().astype(kind)
        analytic = (np.zeros(host.shape, kind) if g is None else
                    np.asarray((g.to_dense() if g.is_sparse else g).numpy(),
                               dtype=kind))  # a sparse gradient: Embedding(sparse=True)
        numeric = np.zeros(host.shape, kind)
        orig = x.array
        for idx in np.ndindex(host.shape):
            for unit in ((1, 1j) if cplx else (1,)):  # dL/dx + i dL/dy for a complex input
                vals = []
                for step in (eps, -eps):
                    bumped = host.copy()
                    bumped[idx] += step * unit
                    # the input itself is perturbed, as PyTorch's gradcheck writes into its
                    # data: fn may reach it another way (a module's parameter passed in and
                    # used through the module), and it still requires grad (fn may take
                    # gradients inside: autograd.grad of an inner loss, MAML's inner step)
                    x.data = be.asarray(bumped, dtype=x.dtype)
                    try:
                        vals.append(float(_project(outputs_of(inputs), weights).item()))
                    finally:
                        x.data = orig
                numeric[idx] += unit * (vals[0] - vals[1]) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            idx = np.unravel_index(int(np.argmax(err)), err.shape)
            if worst is None or err[idx] > worst[0]:
                worst = (err[idx], i, tuple(int(j) for j in idx), analytic[idx], numeric[idx])
    if worst is not None:
        if not raise_exception:
            return False
        _, i, idx, a, n = worst
        raise GradcheckError(f"gradcheck: input {i}, element {idx}: analytic {a:.8g} vs "
                             f"numeric {n:.8g} (|diff| {abs(a - n):.3g} > atol {atol} + "
                             f"rtol {rtol} * |numeric|)")
    return True


def gradgradcheck(fn, *inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False, seed=0):
    """Check second derivatives: :func:`gradcheck` of the first-order gradients, taken with
    ``create_graph=True``, w.r.t. the inputs and the output gradients (PyTorch's
    ``gradgradcheck``: those are random float64 tensors unless ``grad_outputs`` is given).

    Args:
        fn, inputs, eps, atol, rtol, raise_exception, nondet_tol, fast_mode, seed: as for
            :func:`gradcheck` (float64 inputs).
        grad_outputs: dL/d(output) for each output of ``fn`` (default: random).
        check_fwd_over_rev, check_rev_over_rev: which second derivatives to check (at least
            one True, with PyTorch's AssertionErrors for the combinations it refuses); both
            are the one check of reverse-over-reverse here (no forward mode).
        gen_non_contig_grad_outputs, check_undefined_grad, check_grad_dtypes,
            check_batched_grad, masked: PyTorch's extra checks; accepted, not run (arrays
            here have no memory layout to vary).
    Returns:
        True, or raises GradcheckError naming the worst mismatch.
    """
    from .autograd import grad

    if not (check_fwd_over_rev or check_rev_over_rev):  # PyTorch's AssertionErrors
        raise AssertionError("gradgradcheck: expected at least one of check_fwd_over_rev or "
                             "check_rev_over_rev to be True")
    for flag, name in ((check_undefined_grad, "check_undefined_grad"),
                       (check_batched_grad, "check_batched_grad")):
        if flag and not check_rev_over_rev:
            raise AssertionError(f"gradgradcheck: setting {name}=True requires "
                                 "check_rev_over_rev to be True")

    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = tuple(inputs[0])
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input has requires_grad=True")
    outs = fn(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [Tensor(o._be.asarray(rng.standard_normal(o.shape), dtype=o.dtype),
                               _be=o._be) for o in outs]
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    vs = [v.detach().requires_grad_(True) for v in grad_outputs]
    n = len(inputs)

    def first_order(*args):
        xs = list(args[:n])
        for i in checked:  # gradcheck's shifted copies are plain tensors: make them leaves
            if not xs[i].requires_grad:
                xs[i] = xs[i].detach().requires_grad_(True)
        out = fn(*xs)
        out = out if isinstance(out, tuple) else (out,)
        return grad(out, [xs[i] for i in checked], grad_outputs=list(args[n:]),
                    create_graph=True, allow_unused=True, materialize_grads=True)

    return gradcheck(first_order, *inputs, *vs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed)
