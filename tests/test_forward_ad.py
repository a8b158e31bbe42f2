"""torch.autograd.forward_ad (dual_level, make_dual, unpack_dual) against torch 2.13 on every
backend: tangents of functions, modules and functional_call with dual parameters, custom
Functions, what a dual tensor shows (requires_grad, grad_fn, printing), reverse mode inside
a level, the levels and PyTorch's errors; plus float64 finite-difference checks of the
tangents and of their gradients."""
import copy
import pickle

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.autograd.forward_ad as fwAD
import xpnn.nn.functional as F
from xpnn import nn

torch = pytest.importorskip("torch")
tfwAD = torch.autograd.forward_ad

from test_func import TOL32, TOL64, _pair  # noqa: E402 (torch.func's tests' helpers)


def _close(x, t, tol=TOL32):
    assert isinstance(x, xpnn.Tensor), type(x)
    assert tuple(x.shape) == tuple(t.shape)
    assert (xpnn.float32 if t.dtype == torch.float32 else xpnn.float64) == x.dtype
    np.testing.assert_allclose(to_np(x), t.detach().numpy(), rtol=tol, atol=tol)


def _f(m, x, y):
    return m.sin(x) * y + (x * y).exp().sum() - m.tanh(x @ y.T).mean()


def test_dual_function_tangents(backend, rng):
    """J_x t_x + J_y t_y of a function of two dual inputs; the dual inputs give their own
    tangents back; an unrelated tensor has none; none after the level."""
    (x, tx), (y, ty) = _pair(rng.normal(size=(2, 3))), _pair(rng.normal(size=(2, 3)))
    (vx, tvx), (vy, tvy) = _pair(rng.normal(size=(2, 3))), _pair(rng.normal(size=(2, 3)))
    with tfwAD.dual_level():
        tout = tfwAD.unpack_dual(_f(torch, tfwAD.make_dual(tx, tvx),
                                    tfwAD.make_dual(ty, tvy)))
    with fwAD.dual_level() as level:
        assert level == 0
        dx, dy = fwAD.make_dual(x, vx), fwAD.make_dual(y, vy)
        assert fwAD.unpack_dual(dx).tangent is vx
        out = _f(xpnn, dx, dy)
        primal, tangent = fwAD.unpack_dual(out)
        assert isinstance(fwAD.unpack_dual(out), fwAD.UnpackedDualTensor)
        assert fwAD.unpack_dual(out).tangent is tangent  # cached: no second pair of sweeps
        assert fwAD.unpack_dual(xpnn.ones(2)).tangent is None
        _close(primal, tout.primal)
        _close(tangent, tout.tangent)
        assert not tangent.requires_grad and not primal.requires_grad
        assert fwAD.unpack_dual(primal).tangent is None
    assert fwAD.unpack_dual(out).tangent is None and fwAD.unpack_dual(dx).tangent is None
    assert not out.requires_grad and out.grad_fn is None
    assert not (out * 2).requires_grad  # cut from the hidden graph on exit


def test_in_place_changes(backend, rng):
    """In-place changes of a computed tensor, of a dual input and by setitem: the tangent
    is recomputed (the cache is per version)."""
    (x, tx), (v, tv) = _pair(rng.normal(size=(4,))), _pair(rng.normal(size=(4,)))
    with tfwAD.dual_level():
        td = tfwAD.make_dual(tx.clone(), tv)
        ty = td.sin() * 2
        ty.mul_(3)
        td.mul_(-2)
        tz = td * 1
        tz[1] = 5.0
        want = [tfwAD.unpack_dual(t).tangent for t in (ty, td, tz)]
    with fwAD.dual_level():
        d = fwAD.make_dual(x.clone(), v)
        y = d.sin() * 2
        before = fwAD.unpack_dual(y).tangent
        y.mul_(3)
        _close(fwAD.unpack_dual(y).tangent, want[0])  # unpacked before d changes (sin saved d)
        d.mul_(-2)
        z = d * 1
        z[1] = 5.0
        for t, w in zip((d, z), want[1:]):
            _close(fwAD.unpack_dual(t).tangent, w)
        _close(before, want[0] / 3)
        assert not d.requires_grad and not z.requires_grad


def test_visible_state_as_pytorch(backend, rng):
    """A dual tensor of a primal without grad, and what is computed from it, does not
    require grad, has no grad_fn, prints its tangent and refuses backward."""
    x, v = xpnn.tensor([1.0, 2.0]), xpnn.tensor([0.5, -1.0])
    tx, tv = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    with tfwAD.dual_level():
        ty = tfwAD.make_dual(tx, tv) * 3
        trepr = repr(ty)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        y = d * 3
        for t in (d, y, y.clone(), y[0]):
            assert (t.requires_grad, t.grad_fn, t.is_leaf) == (False, None, True)
        assert y.tolist() == [3.0, 6.0] and to_np(y).tolist() == [3.0, 6.0]
        if backend == "numpy":
            assert repr(y) == trepr
        assert "tangent=tensor([ 1.5000, -3.0000]" in repr(y)
        with pytest.raises(RuntimeError, match="does not require grad and does not have a "
                                               "grad_fn"):
            y.sum().backward()
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.register_hook(lambda g: g)
        assert not y.argmax().requires_grad and not (y > 1).requires_grad
        for copied in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
            assert type(copied) is xpnn.Tensor and copied.tolist() == [3.0, 6.0]
    assert "tangent" not in repr(y) and not y.requires_grad


def test_reverse_mode_inside_a_level(backend, rng):
    """loss.backward() on a loss through a Linear layer on a dual input, with a tangent
    penalty: the parameters' gradients are PyTorch's; the dual input gets none."""
    (x, tx), (v, tv) = _pair(rng.normal(size=(5, 3))), _pair(rng.normal(size=(5, 3)))
    w, b = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    lin, tlin = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(w)), tlin.bias.copy_(torch.tensor(b))
    with xpnn.no_grad():
        lin.weight.copy_(xpnn.tensor(w)), lin.bias.copy_(xpnn.tensor(b))
    with tfwAD.dual_level():
        td = tfwAD.make_dual(tx, tv)
        tout = tlin(td).tanh()
        tjvp = tfwAD.unpack_dual(tout).tangent
        (tout.pow(2).mean() + tjvp.pow(2).mean()).backward()
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        out = lin(d).tanh()
        assert out.requires_grad and out.grad_fn is not None
        jvp = fwAD.unpack_dual(out).tangent
        assert jvp.requires_grad  # through the parameters, as in PyTorch
        _close(jvp, tjvp)
        (out.pow(2).mean() + jvp.pow(2).mean()).backward()
        assert d.grad is None and x.grad is None
    _close(lin.weight.grad, tlin.weight.grad)
    _close(lin.bias.grad, tlin.bias.grad)


def test_primal_that_requires_grad(backend, rng):
    (x, tx), (v, tv) = _pair(rng.normal(size=(3,))), _pair(rng.normal(size=(3,)))
    x.requires_grad_(), tx.requires_grad_()
    with tfwAD.dual_level():
        td = tfwAD.make_dual(tx, tv)
        ty = (td ** 3).sum()
        tt = tfwAD.unpack_dual(ty).tangent
        (ty + tt).backward()
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        assert d.requires_grad and d.grad_fn is not None
        y = (d ** 3).sum()
        p, t = fwAD.unpack_dual(y)
        _close(t, tt)
        assert p.requires_grad and fwAD.unpack_dual(p).tangent is None
        assert fwAD.unpack_dual(p * 2).tangent is None  # the primal carries no tangent
        (y + t).backward()
    _close(x.grad, tx.grad)


def _mlps(rng):
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    with torch.no_grad(), xpnn.no_grad():
        for (_, tp), (_, p) in zip(tm.named_parameters(), m.named_parameters()):
            a = rng.normal(size=tuple(tp.shape)).astype("float32")
            tp.copy_(torch.tensor(a)), p.copy_(xpnn.tensor(a))
    return m, tm


def test_functional_call_with_dual_parameters(backend, rng):
    """The tutorial's JVP with respect to the parameters (functional_call), against torch's
    and against xpnn.func.jvp."""
    m, tm = _mlps(rng)
    x, tx = _pair(rng.normal(size=(5, 3)))
    tans = {n: rng.normal(size=tuple(p.shape)).astype("float32")
            for n, p in tm.named_parameters()}
    with tfwAD.dual_level():
        tdual = {n: tfwAD.make_dual(p, torch.tensor(tans[n])) for n, p in
                 tm.named_parameters()}
        tj = tfwAD.unpack_dual(torch.func.functional_call(tm, tdual, (tx,))).tangent
    params = dict(m.named_parameters())
    with fwAD.dual_level():
        dual = {n: fwAD.make_dual(p, xpnn.tensor(tans[n])) for n, p in params.items()}
        j = fwAD.unpack_dual(xpnn.func.functional_call(m, dual, (x,))).tangent
    _close(j, tj)
    names = list(params)
    _, ref = xpnn.func.jvp(lambda *ps: xpnn.func.functional_call(m, dict(zip(names, ps)), (x,)),
                           tuple(p.detach() for p in params.values()),
                           tuple(xpnn.tensor(tans[n]) for n in names))
    np.testing.assert_allclose(to_np(j), to_np(ref), rtol=TOL32, atol=TOL32)


class _Cube(xpnn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * t


class _TCube(torch.autograd.Function):
    forward, backward, jvp = (staticmethod(getattr(_Cube, k)) for k in
                              ("forward", "backward", "jvp"))


def test_custom_function(backend, rng):
    """A Function's tangent comes from its (differentiable) backward here; PyTorch calls its
    jvp: the same numbers."""
    (x, tx), (v, tv) = _pair(rng.normal(size=(4,))), _pair(rng.normal(size=(4,)))
    with tfwAD.dual_level():
        want = tfwAD.unpack_dual(_TCube.apply(tfwAD.make_dual(tx, tv)).sin()).tangent
    with fwAD.dual_level():
        y = _Cube.apply(fwAD.make_dual(x, v))
        assert not y.requires_grad and y.grad_fn is None
        _close(fwAD.unpack_dual(y.sin()).tangent, want)


class _JvpOnly(xpnn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.exp()

    @staticmethod
    def jvp(ctx, t):
        return t


def test_custom_function_without_backward(backend):
    """PyTorch calls a jvp-only Function's jvp; xpnn needs its backward and says so."""
    with fwAD.dual_level():
        y = _JvpOnly.apply(fwAD.make_dual(xpnn.ones(2), xpnn.ones(2)))
        with pytest.raises(NotImplementedError, match="_JvpOnly defines no backward"):
            fwAD.unpack_dual(y)


def test_tangents_by_finite_differences_float64(host_backend, rng):
    """Tangents against central differences along the tangent, and the gradient of a
    tangent with respect to a weight by gradcheck (float64)."""
    x = xpnn.tensor(rng.normal(size=(3, 2)), dtype=xpnn.float64)
    v = xpnn.tensor(rng.normal(size=(3, 2)), dtype=xpnn.float64)
    w = xpnn.tensor(rng.normal(size=(2, 2)), dtype=xpnn.float64, requires_grad=True)

    def f(a, w):
        return xpnn.tanh(a @ w).exp() * a.sum()

    with fwAD.dual_level():
        t = fwAD.unpack_dual(f(fwAD.make_dual(x, v), w)).tangent
    h = 1e-6
    with xpnn.no_grad():
        fd = (f(x + h * v, w) - f(x - h * v, w)) / (2 * h)
    np.testing.assert_allclose(to_np(t), to_np(fd), rtol=1e-7, atol=1e-8)

    def tangent_of(wt):
        with fwAD.dual_level():
            return fwAD.unpack_dual(f(fwAD.make_dual(x, v), wt)).tangent

    assert xpnn.autograd.gradcheck(tangent_of, (w,))


def test_float64_against_torch(backend, rng):
    (x, tx), (v, tv) = _pair(rng.normal(size=(4,)), "float64"), \
        _pair(rng.normal(size=(4,)), "float64")
    with tfwAD.dual_level():
        want = tfwAD.unpack_dual(F_t(tfwAD.make_dual(tx, tv))).tangent
    with fwAD.dual_level():
        _close(fwAD.unpack_dual(F_x(fwAD.make_dual(x, v))).tangent, want, TOL64)


def F_t(a):
    return torch.nn.functional.softplus(a).log_softmax(0) * a.cumsum(0)


def F_x(a):
    return F.softplus(a).log_softmax(0) * a.cumsum(0)


def test_levels_and_errors(backend):
    x, v = xpnn.ones(3), xpnn.ones(3)
    with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level"):
        fwAD.make_dual(x, v)
    assert fwAD.unpack_dual(x) == (x, None)
    with pytest.raises(RuntimeError, match="Dual level must be a positive number"):
        fwAD.exit_dual_level()
    with pytest.raises(RuntimeError, match="not the last one that was created"):
        fwAD.exit_dual_level(level=0)
    assert fwAD.enter_dual_level() == 0
    try:
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="different size than that of the original "
                                               r"Tensor.*size \[3\] while the given forward "
                                               r"gradient is of size \[4\]"):
            fwAD.make_dual(x, xpnn.ones(4))
        with pytest.raises(ValueError, match="Expected primal to be floating point or "
                                             "complex, but got: .*int64"):
            fwAD.make_dual(xpnn.arange(3), v)
        with pytest.raises(ValueError, match="Expected tangent to be floating point"):
            fwAD.make_dual(x, xpnn.arange(3))
        with pytest.raises(RuntimeError, match="Invalid level given to _make_dual"):
            fwAD.make_dual(x, v, level=5)
        d = fwAD.make_dual(x, v)
        with pytest.raises(RuntimeError, match="Invalid level given to _fw_primal"):
            fwAD.unpack_dual(d, level=5)
        for again in (d, d * 2, d * xpnn.ones(3, requires_grad=True)):
            with pytest.raises(RuntimeError, match="already has a forward gradient at the "
                                                   "same level 0"):
                fwAD.make_dual(again, v)
        with pytest.raises(TypeError, match="must be Tensor, not float"):
            fwAD.unpack_dual(3.0)
        with pytest.raises(NotImplementedError, match="unpack_dual.*Renorm"):
            fwAD.unpack_dual(d.view(1, 3).renorm(2, 0, 1.0))
        # a float64 tangent on a float32 primal is kept (as in PyTorch) for the dual itself;
        # the products are in the primal's dtype (PyTorch keeps float64: a known difference)
        t64 = xpnn.ones(3, dtype=xpnn.float64)
        d2 = fwAD.make_dual(xpnn.zeros(3), t64)
        assert fwAD.unpack_dual(d2).tangent is t64
        assert xpnn.float32 == fwAD.unpack_dual(d2 * 2).tangent.dtype
    finally:
        fwAD.exit_dual_level(level=0)


def test_torch_names(backend):
    """Reachable as PyTorch's: torch.autograd.forward_ad, a decorator dual_level."""
    assert xpnn.autograd.forward_ad is fwAD
    assert set(fwAD.__all__) == set(tfwAD.__all__)
    assert fwAD.UnpackedDualTensor._fields == ("primal", "tangent")

    @fwAD.dual_level()
    def inside():
        return fwAD.unpack_dual(fwAD.make_dual(xpnn.ones(2), xpnn.ones(2)) * 5).tangent

    assert inside().tolist() == [5.0, 5.0]
