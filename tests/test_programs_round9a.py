"""Regressions found by the round-9a tutorial programs (gumbel_vae, binarized_net,
imbalanced, denoise_autoencoder, multitask), each against PyTorch 2.13.

* ``torch.autograd.gradcheck(..., raise_exception=False)`` was refused (an unknown keyword);
  PyTorch returns False on a mismatch. Its ``GradcheckError`` is a RuntimeError in PyTorch,
  so ``except RuntimeError`` missed xpnn's.
* A ``once_differentiable`` backward, run while a graph is built (``create_graph=True``),
  gave gradients that did not require grad; PyTorch's require grad through a node
  (``grad_fn=<Error>``) whose backward raises "trying to differentiate twice ...".
* The output of a custom ``autograd.Function`` printed ``grad_fn=<MyFnBackward0>``;
  PyTorch prints ``grad_fn=<MyFnBackward>`` (no 0: not one of its generated nodes).
* A custom Function returning one of its inputs marked by ``ctx.mark_non_differentiable``
  gave back the input itself, still requiring grad; PyTorch's output is an alias that does
  not require grad.
* ``ReduceLROnPlateau.state_dict()`` had no ``mode_worse`` (PyTorch's keys, one short).
* ``WeightedRandomSampler.weights`` was a NumPy array; PyTorch's is a float64 CPU Tensor,
  so printing or indexing it differed.
* ``OneHotCategorical``'s support was the simplex, so ``log_prob`` of a vector that is not
  one-hot (a soft or relaxed sample) was scored as the argmax; PyTorch's support is
  ``constraints.one_hot`` and the validation refuses it (ValueError).
"""
import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")

TOL64 = 1e-12  # float64, a product or two apart


def _cubed(lib, right):
    """x ** 3 as a custom Function, its backward right (3 x^2) or wrong (2 x^2)."""
    k = 3.0 if right else 2.0

    class Cubed(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return k * g * x ** 2
    return Cubed


@pytest.mark.parametrize("right", [True, False])
def test_gradcheck_raise_exception_false(backend, rng, right):
    """raise_exception=False: True for a right backward, False for a wrong one, as PyTorch;
    nondet_tol and fast_mode are accepted."""
    host = rng.standard_normal(4) + 2.0
    x = xpnn.tensor(host, dtype=xpnn.float64, backend=backend, requires_grad=True)
    t = torch.tensor(host, dtype=torch.float64, requires_grad=True)
    want = torch.autograd.gradcheck(_cubed(torch, right).apply, (t,), raise_exception=False)
    got = xpnn.autograd.gradcheck(_cubed(xpnn, right).apply, (x,), raise_exception=False)
    assert got is want is right
    assert xpnn.autograd.gradcheck(_cubed(xpnn, True).apply, (x,), nondet_tol=1e-12,
                                   fast_mode=True)
    assert xpnn.autograd.gradgradcheck(lambda a: a ** 3, (x,), raise_exception=False)


def test_gradcheck_error_is_a_runtime_error(backend, rng):
    """A mismatch raises GradcheckError, which ``except RuntimeError`` catches (PyTorch's is
    a RuntimeError) and which is still an AssertionError."""
    host = rng.standard_normal(3) + 2.0
    x = xpnn.tensor(host, dtype=xpnn.float64, backend=backend, requires_grad=True)
    t = torch.tensor(host, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.autograd.gradcheck(_cubed(torch, False).apply, (t,))
    with pytest.raises(RuntimeError, match="gradcheck: input 0, element"):
        xpnn.autograd.gradcheck(_cubed(xpnn, False).apply, (x,))
    assert issubclass(xpnn.GradcheckError, AssertionError)


def _scaled_square(lib):
    """y = w^2 * k with a once_differentiable backward for w and k."""
    from importlib import import_module
    once = import_module(lib.__name__ + ".autograd.function").once_differentiable

    class ScaledSquare(lib.autograd.Function):
        @staticmethod
        def forward(ctx, w, k):
            ctx.save_for_backward(w, k)
            return w * w * k

        @staticmethod
        @once
        def backward(ctx, g):
            w, k = ctx.saved_tensors
            return 2 * g * w * k, g * w * w
    return ScaledSquare


def test_once_differentiable_under_create_graph(backend, rng):
    """grad(create_graph=True) through a once_differentiable backward: the same values
    (float64, 1e-12), gradients that require grad with grad_fn <Error>, and PyTorch's
    message when differentiated again."""
    hw, hk = rng.standard_normal(3), rng.standard_normal(3)
    got, want = {}, {}
    for lib, out in ((xpnn, got), (torch, want)):
        kw = {"backend": backend} if lib is xpnn else {}
        w = lib.tensor(hw, dtype=lib.float64, requires_grad=True, **kw)
        k = lib.tensor(hk, dtype=lib.float64, requires_grad=True, **kw)
        y = _scaled_square(lib).apply(w, k)
        gw, gk = lib.autograd.grad((y * y).sum(), (w, k), create_graph=True)
        out["values"] = (to_np(gw) if lib is xpnn else gw.detach().numpy(),
                         to_np(gk) if lib is xpnn else gk.detach().numpy())
        out["requires_grad"] = (gw.requires_grad, gk.requires_grad)
        out["repr"] = repr(gw).split("grad_fn=")[1]
        with pytest.raises(RuntimeError, match="differentiate twice a function that was "
                                               "marked with @once_differentiable"):
            (gw.sum() + gk.sum()).backward()
    for a, b in zip(got["values"], want["values"]):
        assert a.dtype == np.float64 and a.shape == (3,)
        np.testing.assert_allclose(a, b, rtol=TOL64, atol=TOL64)
    assert got["requires_grad"] == want["requires_grad"] == (True, True)
    assert got["repr"] == want["repr"] == "<Error>)"


def test_once_differentiable_first_order_unchanged(backend, rng):
    """Without create_graph the gradients are plain (no graph), as in PyTorch, and equal
    (float64, 1e-12)."""
    hw, hk = rng.standard_normal(3), rng.standard_normal(3)
    w = xpnn.tensor(hw, dtype=xpnn.float64, backend=backend, requires_grad=True)
    k = xpnn.tensor(hk, dtype=xpnn.float64, backend=backend, requires_grad=True)
    tw = torch.tensor(hw, requires_grad=True)
    tk = torch.tensor(hk, requires_grad=True)
    (_scaled_square(xpnn).apply(w, k) ** 2).sum().backward()
    (_scaled_square(torch).apply(tw, tk) ** 2).sum().backward()
    assert not w.grad.requires_grad and not tw.grad.requires_grad
    np.testing.assert_allclose(to_np(w.grad), tw.grad.numpy(), rtol=TOL64, atol=TOL64)
    np.testing.assert_allclose(to_np(k.grad), tk.grad.numpy(), rtol=TOL64, atol=TOL64)


def test_custom_function_grad_fn_prints_as_pytorch(backend):
    """A custom Function's output prints grad_fn=<NameBackward>, as PyTorch's."""
    got = repr(_cubed(xpnn, True).apply(
        xpnn.tensor([1.0, 2.0], backend=backend, requires_grad=True)))
    want = repr(_cubed(torch, True).apply(torch.tensor([1.0, 2.0], requires_grad=True)))
    assert want == "tensor([1., 8.], grad_fn=<CubedBackward>)"
    # off the default backend xpnn's repr also names the backend, before the grad_fn
    assert got.startswith("tensor([1., 8.],") and got.endswith(" grad_fn=<CubedBackward>)")


def test_one_hot_categorical_support(backend):
    """OneHotCategorical's support is constraints.one_hot, as PyTorch's: the check is the
    same on one-hot, soft and two-hot rows, and log_prob refuses a soft row (where the values
    are on the host: a device's are not read, the rule for every validation)."""
    rows = [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    dist = xpnn.distributions.OneHotCategorical(
        logits=xpnn.tensor([0.2, -0.3, 1.1], backend=backend))
    tdist = torch.distributions.OneHotCategorical(logits=torch.tensor([0.2, -0.3, 1.1]))
    assert repr(dist.support) == repr(tdist.support) == "OneHot()"
    assert dist.support.is_discrete and dist.support.event_dim == 1
    got = dist.support.check(xpnn.tensor(rows, backend=backend))
    want = tdist.support.check(torch.tensor(rows))
    assert to_np(got).tolist() == want.tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match="support"):
        tdist.log_prob(torch.tensor(rows[1]))
    value = xpnn.tensor(rows[3], backend=backend)
    np.testing.assert_allclose(to_np(dist.log_prob(value)), tdist.log_prob(
        torch.tensor(rows[3])).numpy(), rtol=1e-6)  # float32: a log-softmax, a few ulps
    if xpnn.tensor(rows[1], backend=backend)._be.on_host:
        with pytest.raises(ValueError, match=r"within the support \(OneHot\(\)\)"):
            dist.log_prob(xpnn.tensor(rows[1], backend=backend))


def test_mark_non_differentiable_input_returned(backend):
    """An input returned as an output marked non-differentiable: an alias without grad
    (the same values), the input itself unchanged, as PyTorch."""
    results = {}
    for lib in (xpnn, torch):
        class PassThrough(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.mark_non_differentiable(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        kw = {"backend": backend} if lib is xpnn else {}
        x = lib.tensor([1.0, -2.0], requires_grad=True, **kw) * 2
        y = PassThrough.apply(x)
        results[lib.__name__] = (y.requires_grad, y.grad_fn is None, x.requires_grad,
                                 y.tolist())
    assert results["xpnn"] == results["torch"] == (False, True, True, [2.0, -4.0])


@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_lr_on_plateau_state_dict_keys(mode):
    """The scheduler's state_dict has PyTorch's keys, mode_worse included, with its values;
    the rates over a stalling metric agree (float64 rates, exactly)."""
    states, rates = {}, {}
    for lib in (xpnn, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=1.0)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5,
                                                         patience=1, threshold=0.1)
        rates[lib.__name__] = []
        for v in [1.0, 0.95, 0.94, 0.93, 0.92, 0.91]:
            sched.step(v if mode == "min" else -v)
            rates[lib.__name__].append(opt.param_groups[0]["lr"])
        states[lib.__name__] = sched.state_dict()
    assert sorted(states["xpnn"]) == sorted(states["torch"])
    assert states["xpnn"]["mode_worse"] == states["torch"]["mode_worse"]
    assert rates["xpnn"] == rates["torch"]


def test_weighted_random_sampler_weights_tensor():
    """sampler.weights is a float64 Tensor with the given values, as PyTorch's; changing it
    in place changes the draws (both read it when an epoch is drawn)."""
    got = xpnn.utils.data.WeightedRandomSampler([1, 2, 3], 6)
    want = torch.utils.data.WeightedRandomSampler([1, 2, 3], 6)
    assert isinstance(got.weights, xpnn.Tensor) and isinstance(want.weights, torch.Tensor)
    assert str(got.weights.dtype).endswith("float64") and want.weights.dtype == torch.float64
    assert got.weights.tolist() == want.weights.tolist() == [1.0, 2.0, 3.0]
    assert repr(got.weights).replace("xpnn", "torch") == repr(want.weights)
    for sampler in (got, want):
        sampler.weights[:2] = 0.0
        assert list(sampler) == [2] * 6
