"""Checks found while writing the round-20b tutorial programs (tests/pytorch_programs/
tutorials/ewc_continual_learning.py, conformal_prediction.py, custom_function_vmap.py,
lbfgs_curve_fit.py).

* ``ctx.save_for_forward`` was missing (AttributeError in a PyTorch 2 style Function whose
  ``setup_context`` saves tensors for its ``jvp``, as PyTorch's torch.func tutorial writes
  it). The ctx now has it (xpnn/autograd/function_base.py): non-tensors refused as PyTorch
  refuses them, the tensors held; xpnn has no forward mode (jvp and jacfwd go through
  backward), so the Function's ``jvp`` is never called and ``saved_tensors`` stays what
  ``save_for_backward`` saved.
* ``torch.autograd.gradcheck`` refused PyTorch's keyword arguments ``check_forward_ad``,
  ``check_backward_ad``, ``check_undefined_grad``, ``check_grad_dtypes``,
  ``check_batched_grad``, ``check_batched_forward_grad`` and ``masked`` (TypeError). It
  takes them now (xpnn/gradcheck.py): forward-mode checks are the backward check (xpnn's
  Jacobian-vector products come from backward), both False is refused with PyTorch's
  AssertionError, the others are accepted and not run.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402


def _swish(lib):
    class Swish(lib.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            return x * lib.sigmoid(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            s = lib.sigmoid(x)
            return g * (s + x * s * (1 - s))

        @staticmethod
        def jvp(ctx, x_t):
            x, = ctx.saved_tensors
            s = lib.sigmoid(x)
            return x_t * (s + x * s * (1 - s))
    return Swish


def test_save_for_forward_in_setup_context(backend):
    """A Function saving for its jvp works as on PyTorch: values, backward, vmap(grad) and
    jacfwd equal PyTorch's (float32, shape kept)."""
    x_np = np.linspace(-3, 3, 7, dtype=np.float32)
    got, want = {}, {}
    for lib, out in ((xpnn, got), (torch, want)):
        f = _swish(lib).apply
        x = lib.tensor(x_np, requires_grad=True)
        y = f(x)
        y.sum().backward()
        out["y"], out["grad"] = y.detach(), x.grad
        out["jac"] = lib.func.jacfwd(f)(lib.tensor(x_np))
        rows = lib.tensor(np.stack([x_np, -x_np]))
        out["vmap"] = lib.func.vmap(lib.func.grad(lambda r: (f(r) ** 2).sum()))(rows)
    for k in want:
        assert tuple(got[k].shape) == tuple(want[k].shape), k
        assert str(got[k].dtype).endswith("float32"), k
        np.testing.assert_allclose(to_np(got[k]), want[k].numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)


def test_save_for_forward_refuses_non_tensors():
    class Bad(xpnn.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_forward(inputs[0], 3)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError, match="save_for_forward expects all arguments to be "
                                        "tensors"):
        Bad.apply(xpnn.ones(2, requires_grad=True))


def test_gradcheck_takes_pytorchs_keywords():
    """check_forward_ad / check_backward_ad and the other PyTorch switches are accepted;
    a wrong backward still fails with check_forward_ad=True; both False is refused."""
    x_np = np.random.default_rng(0).standard_normal((3, 4))
    kwargs = dict(check_forward_ad=True, check_backward_ad=False, check_undefined_grad=False,
                  check_grad_dtypes=True, check_batched_grad=False,
                  check_batched_forward_grad=False, masked=None)
    for lib in (torch, xpnn):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(_swish(lib).apply, (x,), **kwargs) is True

    class Wrong(xpnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g

    x = xpnn.tensor(x_np, dtype=xpnn.float64, requires_grad=True)
    assert xpnn.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False,
                                   check_forward_ad=True) is False
    for lib in (torch, xpnn):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        with pytest.raises(AssertionError, match="at least one of check_forward_ad or "
                                                 "check_backward_ad"):
            lib.autograd.gradcheck(lambda t: t * 2, (x,), check_forward_ad=False,
                                   check_backward_ad=False)
