"""torch.func (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap,
functional_call, stack_module_state), torch.compile and torch.return_types, against torch
2.13 on every backend, plus float64 gradient checks of what the transforms build."""
import pickle
import re

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.nn.functional as F
from xpnn import func as xfunc
from xpnn import nn

torch = pytest.importorskip("torch")
tfunc = torch.func

TOL32 = 100 * np.finfo(np.float32).eps  # float32 results against torch's float32
TOL64 = 1e-10                           # float64 results against torch's float64


def _pair(a, dtype="float32"):
    """The same data as an xpnn tensor (default backend) and a torch tensor."""
    a = np.asarray(a, dtype=dtype)
    return xpnn.tensor(a, dtype=getattr(xpnn, dtype)), torch.tensor(a)


def _close(x, t, tol=TOL32):
    if isinstance(t, (tuple, list)):
        assert isinstance(x, (tuple, list)) and len(x) == len(t)
        for a, b in zip(x, t):
            _close(a, b, tol)
        return
    if isinstance(t, dict):
        assert set(x) == set(t)
        for k in t:
            _close(x[k], t[k], tol)
        return
    assert isinstance(x, xpnn.Tensor), type(x)
    assert tuple(x.shape) == tuple(t.shape)
    assert xpnn.float32 == x.dtype if t.dtype == torch.float32 else xpnn.float64 == x.dtype
    np.testing.assert_allclose(to_np(x), t.detach().numpy(), rtol=tol, atol=tol)


def _f(m, x, y):
    return (m.sin(x) * y * x).sum() + (x * x).mean()


# -- grad -----------------------------------------------------------------------------------
def test_grad_argnums_and_aux(backend, rng):
    x, tx = _pair(rng.normal(size=(3, 4)))
    y, ty = _pair(rng.normal(size=(4,)))
    _close(xfunc.grad(lambda a, b: _f(xpnn, a, b))(x, y),
           tfunc.grad(lambda a, b: _f(torch, a, b))(tx, ty))
    _close(xfunc.grad(lambda a, b: _f(xpnn, a, b), argnums=(0, 1))(x, y),
           tfunc.grad(lambda a, b: _f(torch, a, b), argnums=(0, 1))(tx, ty))
    _close(xfunc.grad(lambda a, b: _f(xpnn, a, b), argnums=-1)(x, y),
           tfunc.grad(lambda a, b: _f(torch, a, b), argnums=-1)(tx, ty))

    def with_aux(m):
        extra = {"n": 3} if m is xpnn else {}  # torch.func accepts only tensors in aux
        return lambda a, b: (_f(m, a, b), {"h": a * 2, **extra})
    g, aux = xfunc.grad(with_aux(xpnn), has_aux=True)(x, y)
    tg, taux = tfunc.grad(with_aux(torch), has_aux=True)(tx, ty)
    _close(g, tg)
    _close(aux["h"], taux["h"])
    assert aux["n"] == 3 and not aux["h"].requires_grad and not g.requires_grad
    assert not x.requires_grad  # the inputs are left as they were
    (g, v) = xfunc.grad_and_value(lambda a, b: _f(xpnn, a, b))(x, y)
    (tg, tv) = tfunc.grad_and_value(lambda a, b: _f(torch, a, b))(tx, ty)
    _close(g, tg)
    _close(v, tv)
    g, (v, aux) = xfunc.grad_and_value(with_aux(xpnn), has_aux=True)(x, y)
    _close(v, tv)


def test_grad_of_pytree_input(backend, rng):
    w, tw = _pair(rng.normal(size=(2, 3)))
    b, tb = _pair(rng.normal(size=(2,)))
    x, tx = _pair(rng.normal(size=(5, 3)))

    def loss(m):
        return lambda p, x: (m.tanh(x @ p["w"].T + p["b"][0]) ** 2).sum()
    _close(xfunc.grad(loss(xpnn))({"w": w, "b": (b,)}, x),
           tfunc.grad(loss(torch))({"w": tw, "b": (tb,)}, tx))


def test_grad_of_grad(backend, rng):
    x, tx = _pair(rng.uniform(0.5, 1.5, size=()))

    def f(m):
        return lambda a: m.sin(a) * a ** 3
    _close(xfunc.grad(xfunc.grad(f(xpnn)))(x), tfunc.grad(tfunc.grad(f(torch)))(tx))
    _close(xfunc.grad(xfunc.grad(xfunc.grad(f(xpnn))))(x),
           tfunc.grad(tfunc.grad(tfunc.grad(f(torch))))(tx))
    # the inner derivative sees only its own variable (no perturbation confusion): 1, not 2
    inner = xfunc.grad(lambda a: xfunc.grad(lambda b: a * b)(a))(x)
    _close(inner, tfunc.grad(lambda a: tfunc.grad(lambda b: a * b)(a))(tx))
    assert float(inner.item()) == 1.0
    # a closure over the outer variable inside the inner grad
    _close(xfunc.grad(lambda a: xfunc.grad(lambda b: (a * b) ** 2)(x * 2))(x),
           tfunc.grad(lambda a: tfunc.grad(lambda b: (a * b) ** 2)(tx * 2))(tx))


def test_grad_composes_with_autograd(backend, rng):
    """An input that requires grad: the gradient stays differentiable, as in PyTorch."""
    x, tx = _pair(rng.normal(size=(4,)))
    x.requires_grad_(True)
    tx.requires_grad_(True)
    g = xfunc.grad(lambda a: (a ** 3).sum())(x)
    tg = tfunc.grad(lambda a: (a ** 3).sum())(tx)
    assert g.requires_grad
    g.sum().backward()
    tg.sum().backward()
    _close(x.grad, tx.grad)


def test_grad_gradcheck_float64(host_backend, rng):
    """d/dx of grad(f)(x), by finite differences (float64)."""
    x = xpnn.tensor(rng.uniform(0.5, 1.5, size=(3,)), dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(lambda a: xfunc.grad(lambda b: (b.sin() * b ** 2).sum())(a), (x,))
    assert xpnn.gradcheck(lambda a: xfunc.vmap(lambda r: r.exp() * r.sum(), in_dims=1)(a),
                          (xpnn.tensor(rng.normal(size=(2, 3)), dtype=xpnn.float64,
                                       requires_grad=True),))


def test_grad_errors(backend):
    x = xpnn.ones(3)
    with pytest.raises(RuntimeError, match="scalar Tensor.*shape \\(3,\\)"):
        xfunc.grad(lambda a: a * 2)(x)
    with pytest.raises(RuntimeError, match="argnums=2.*1 positional"):
        xfunc.grad(lambda a: a.sum(), argnums=2)(x)
    with pytest.raises(TypeError, match="argnums must be an int"):
        xfunc.grad(lambda a: a.sum(), argnums=[0])(x)
    with pytest.raises(TypeError, match="expected only Tensors.*float"):
        xfunc.grad(lambda a: a)(1.0)
    with pytest.raises(RuntimeError, match="only floating point inputs.*int64 of shape \\(2,\\)"):
        xfunc.grad(lambda a: a.sum())(xpnn.ones(2, dtype=xpnn.int64))
    with pytest.raises(RuntimeError, match="has_aux=True.*tuple"):
        xfunc.grad(lambda a: a.sum(), has_aux=True)(x)


# -- vjp, jvp -------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")  # inside torch's jvp
def test_vjp_jvp(backend, rng):
    x, tx = _pair(rng.normal(size=(3, 2)))
    y, ty = _pair(rng.normal(size=(2,)))
    u, tu = _pair(rng.normal(size=(3, 2)))
    c, tc = _pair(rng.normal(size=(2,)))

    def f(m):
        return lambda a, b: (m.tanh(a) * b, (a * b).sum(0))
    out, fn = xfunc.vjp(f(xpnn), x, y)
    tout, tfn = tfunc.vjp(f(torch), tx, ty)
    _close(out, tout)
    _close(fn((u, c)), tfn((tu, tc)))
    _close(fn((u, c)), tfn((tu, tc)))  # vjp_fn can be called again
    out, fn, aux = xfunc.vjp(lambda a: (a.exp(), a.sum()), x, has_aux=True)
    _close(fn(u), tfunc.vjp(lambda a: a.exp(), tx)[1](tu))
    _close(aux, tx.sum())
    with pytest.raises(RuntimeError, match="structure of the output"):
        fn((u, u))

    v, tv = _pair(rng.normal(size=(3, 2)))
    w, tw = _pair(rng.normal(size=(2,)))
    out, prod = xfunc.jvp(f(xpnn), (x, y), (v, w))
    tout, tprod = tfunc.jvp(f(torch), (tx, ty), (tv, tw))
    _close(out, tout)
    _close(prod, tprod)
    with pytest.raises(RuntimeError, match="primals to be a tuple"):
        xfunc.jvp(f(xpnn), x, v)


# -- Jacobians, Hessians --------------------------------------------------------------------
def _mlp_pair(rng, sizes=(4, 6, 3)):
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.Tanh(),
                          nn.Linear(sizes[1], sizes[2]))
    tmodel = torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), torch.nn.Tanh(),
                                 torch.nn.Linear(sizes[1], sizes[2]))
    tmodel.load_state_dict({k: torch.tensor(to_np(v)) for k, v in model.state_dict().items()})
    return model, tmodel


def test_jacrev_jacfwd_of_mlp(backend, rng):
    model, tmodel = _mlp_pair(rng)
    x, tx = _pair(rng.normal(size=(4,)))
    for xj, tj in ((xfunc.jacrev, tfunc.jacrev), (xfunc.jacfwd, tfunc.jacfwd)):
        jac = xj(model)(x)
        _close(jac, tj(tmodel)(tx))
        assert jac.shape == (3, 4)
    # with respect to the parameters, through functional_call: a dict of Jacobians
    params = {k: v.detach() for k, v in model.named_parameters()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    jac = xfunc.jacrev(lambda p, a: xfunc.functional_call(model, p, (a,)))(params, x)
    tjac = tfunc.jacrev(lambda p, a: tfunc.functional_call(tmodel, p, (a,)))(tparams, tx)
    _close(jac, tjac)
    assert jac["0.weight"].shape == (3, 6, 4)
    # several outputs and argnums, aux
    x2, tx2 = _pair(rng.normal(size=(2, 4)))

    def g(m):
        return lambda a, b: (((a * b.sum()).sin(), {"s": (a ** 2).sum()}), b.mean())
    jac, aux = xfunc.jacrev(g(xpnn), argnums=(0, 1), has_aux=True)(x, x2)
    tjac, taux = tfunc.jacrev(g(torch), argnums=(0, 1), has_aux=True)(tx, tx2)
    _close(jac, tjac)
    _close(aux, taux)
    _close(xfunc.jacfwd(g(xpnn), argnums=1, has_aux=True)(x, x2)[0],
           tfunc.jacfwd(g(torch), argnums=1, has_aux=True)(tx, tx2)[0])


def test_hessian(backend, rng):
    x, tx = _pair(rng.uniform(0.5, 1.5, size=(3,)))
    w, tw = _pair(rng.normal(size=(2, 3)))

    def f(m):
        return lambda a, b: m.tanh(b @ a).sum() + (a.sin() * a ** 2).sum()
    _close(xfunc.hessian(f(xpnn))(x, w), tfunc.hessian(f(torch))(tx, tw), 10 * TOL32)
    h = xfunc.hessian(f(xpnn), argnums=(0, 1))(x, w)
    _close(h, tfunc.hessian(f(torch), argnums=(0, 1))(tx, tw), 10 * TOL32)
    assert h[0][1].shape == (3, 2, 3)
    _close(xfunc.jacrev(xfunc.jacrev(f(xpnn)))(x, w),
           tfunc.jacrev(tfunc.jacrev(f(torch)))(tx, tw), 10 * TOL32)


# -- vmap -----------------------------------------------------------------------------------
def test_vmap_dims(backend, rng):
    a, ta = _pair(rng.normal(size=(3, 5)))
    b, tb = _pair(rng.normal(size=(5, 4)))
    c, tc = _pair(rng.normal(size=(4,)))

    def f(m):
        return lambda x, p: (x.sum() * p["y"] + p["z"], x * 2)
    args, targs = (a, {"y": b, "z": c}), (ta, {"y": tb, "z": tc})
    for in_dims, out_dims in [((1, {"y": 0, "z": None}), 0), ((1, {"y": 0, "z": None}), (1, 0)),
                              ((-1, {"y": None, "z": None}), (-1, 0)),
                              ((1, {"y": 0, "z": None}), {"bad": 0})]:
        if isinstance(out_dims, dict):
            with pytest.raises(ValueError, match="out_dims"):
                xfunc.vmap(f(xpnn), in_dims, out_dims)(*args)
            continue
        _close(xfunc.vmap(f(xpnn), in_dims, out_dims)(*args),
               tfunc.vmap(f(torch), in_dims, out_dims)(*targs))
    # nested vmap: an outer product
    _close(xfunc.vmap(xfunc.vmap(lambda x, y: x * y, (None, 0)), (0, None))(a[0], c),
           tfunc.vmap(tfunc.vmap(lambda x, y: x * y, (None, 0)), (0, None))(ta[0], tc))
    # kwargs are not mapped
    _close(xfunc.vmap(lambda x, *, s: x * s)(a, s=c[0]),
           tfunc.vmap(lambda x, *, s: x * s)(ta, s=tc[0]))
    # torch.vmap is the same function
    assert xpnn.vmap is xfunc.vmap


def test_vmap_gradients_flow(backend, rng):
    a, ta = _pair(rng.normal(size=(3, 5)))
    a.requires_grad_(True)
    ta.requires_grad_(True)
    (xfunc.vmap(lambda r: r.sin() * r.sum())(a) ** 2).sum().backward()
    (tfunc.vmap(lambda r: r.sin() * r.sum())(ta) ** 2).sum().backward()
    _close(a.grad, ta.grad)


def test_vmap_errors_and_randomness(backend):
    a, b = xpnn.ones(3, 2), xpnn.ones(4, 2)
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        xfunc.vmap(lambda x, y: x + y)(a, b)
    with pytest.raises(ValueError, match="in_dims has 1 entries but 2"):
        xfunc.vmap(lambda x, y: x + y, in_dims=(0,))(a, b)
    with pytest.raises(ValueError, match="only Tensors can be mapped"):
        xfunc.vmap(lambda x, y: x * y)(a, 2.0)
    with pytest.raises(ValueError, match="at least one input"):
        xfunc.vmap(lambda x: x, in_dims=None)(a)
    with pytest.raises(ValueError, match="out of range"):
        xfunc.vmap(lambda x: x, in_dims=2)(a)
    with pytest.raises(ValueError, match="f must only return Tensors"):
        xfunc.vmap(lambda x: 3)(a)
    with pytest.raises(RuntimeError, match="randomness"):
        xfunc.vmap(lambda x: x, randomness="sometimes")
    same = xfunc.vmap(lambda x: x + xpnn.rand(2), randomness="same")(xpnn.zeros(3, 2))
    np.testing.assert_array_equal(to_np(same[0]), to_np(same[2]))
    diff = xfunc.vmap(lambda x: x + xpnn.rand(2), randomness="different")(xpnn.zeros(3, 2))
    assert not np.array_equal(to_np(diff[0]), to_np(diff[2]))


def test_per_sample_gradients(backend, rng):
    """The torch.func tutorial: vmap(grad(loss)) with functional_call, against the loop."""
    model, tmodel = _mlp_pair(rng, (5, 8, 3))
    x, tx = _pair(rng.normal(size=(6, 5)))
    labels = rng.integers(0, 3, size=6)
    y, ty = xpnn.tensor(labels), torch.tensor(labels)

    def compute_loss(m, fn_call, module):
        def loss(params, buffers, sample, target):
            pred = fn_call(module, (params, buffers), (sample.unsqueeze(0),))
            return m.nn.functional.cross_entropy(pred, target.unsqueeze(0))
        return loss
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    grads = xfunc.vmap(xfunc.grad(compute_loss(xpnn, xfunc.functional_call, model)),
                       in_dims=(None, None, 0, 0))(params, buffers, x, y)
    tgrads = tfunc.vmap(tfunc.grad(compute_loss(torch, tfunc.functional_call, tmodel)),
                        in_dims=(None, None, 0, 0))(tparams, {}, tx, ty)
    _close(grads, tgrads)
    assert grads["2.weight"].shape == (6, 3, 8)
    # the same as one backward per sample through the module itself
    model.zero_grad()
    F.cross_entropy(model(x[1:2]), y[1:2]).backward()
    _close(grads["0.weight"][1], torch.tensor(to_np(model[0].weight.grad)))
    assert not model[0].weight.grad is None and model[0].weight.grad.shape == (8, 5)


def test_stack_module_state_ensemble(backend, rng):
    pairs = [_mlp_pair(rng) for _ in range(3)]
    x, tx = _pair(rng.normal(size=(2, 4)))
    params, buffers = xfunc.stack_module_state([p[0] for p in pairs])
    tparams, tbuffers = tfunc.stack_module_state([p[1] for p in pairs])
    _close({k: v.detach() for k, v in params.items()},
           {k: v.detach() for k, v in tparams.items()})
    assert all(v.requires_grad and v.is_leaf for v in params.values())
    base, tbase = pairs[0]

    def ens(fn_call, module):
        return lambda p, b, a: fn_call(module, (p, b), (a,))
    out = xfunc.vmap(ens(xfunc.functional_call, base), in_dims=(0, 0, None))(params, buffers, x)
    tout = tfunc.vmap(ens(tfunc.functional_call, tbase), in_dims=(0, 0, None))(tparams, tbuffers,
                                                                               tx)
    _close(out.detach(), tout.detach())
    with pytest.raises(RuntimeError, match="at least one model"):
        xfunc.stack_module_state([])


# -- compile ---------------------------------------------------------------------------------
def test_compile_returns_its_argument():
    model = nn.Linear(2, 3)
    assert xpnn.compile(model) is model
    assert xpnn.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model

    @xpnn.compile
    def f(x):
        return x * 2

    @xpnn.compile(mode="reduce-overhead")
    def g(x):
        return x + 1
    assert f(xpnn.ones(2)).tolist() == [2.0, 2.0] and g(xpnn.ones(1)).tolist() == [2.0]
    assert f.__name__ == "f"
    assert model.compile() is None and model.compile(backend="eager") is None
    with pytest.raises(RuntimeError, match="unrecognized mode='fast'"):
        xpnn.compile(model, mode="fast")
    with pytest.raises(RuntimeError, match="mode or options"):
        xpnn.compile(model, mode="default", options={"a": 1})
    with pytest.raises(TypeError, match="Module or a function"):
        xpnn.compile(3)
    assert xpnn.compiler.is_compiling() is False
    assert xpnn.compiler.disable(f) is f and xpnn.compiler.disable()(g) is g


# -- return_types ----------------------------------------------------------------------------
def test_return_types_print_and_type(backend):
    data = [[3.0, 1.0, 2.0], [2.0, 5.0, 5.0]]
    x, tx = xpnn.tensor(data), torch.tensor(data)
    for name, xf, tf in [
            ("sort", lambda m, a: m.sort(a), None), ("max", lambda m, a: a.max(1), None),
            ("min", lambda m, a: m.min(a, 1), None), ("topk", lambda m, a: a.topk(2), None),
            ("median", lambda m, a: a.median(1), None),
            ("nanmedian", lambda m, a: m.nanmedian(a, 1), None),
            ("mode", lambda m, a: m.mode(a, 1), None),
            ("kthvalue", lambda m, a: m.kthvalue(a, 2, 1), None),
            ("cummax", lambda m, a: m.cummax(a, 1), None),
            ("cummin", lambda m, a: m.cummin(a, 1), None),
            ("aminmax", lambda m, a: m.aminmax(a, dim=1), None),
            ("linalg_slogdet", lambda m, a: m.linalg.slogdet(a[:, :2]), None),
            ("linalg_qr", lambda m, a: m.linalg.qr(a), None),
            ("linalg_eigh", lambda m, a: m.linalg.eigh(a[:, :2] @ a[:, :2].T), None),
            ("linalg_svd", lambda m, a: m.linalg.svd(a, full_matrices=False), None),
            ("svd", lambda m, a: m.svd(a), None)]:
        r, tr = xf(xpnn, x), xf(torch, tx)
        assert type(r) is getattr(xpnn.return_types, name)
        assert type(r).__name__ == type(tr).__name__ == name
        assert r._fields == tuple(re.findall(r"\n(\w+)=", repr(tr)))
        if backend == "numpy" and name in ("sort", "max", "topk", "cummax"):  # the same text
            assert repr(r) == repr(tr).replace("torch.", "xpnn.")
        assert str(r).startswith(f"xpnn.return_types.{name}(\n{r._fields[0]}=tensor(")
        values, second = r[0], r[1]
        assert values is getattr(r, r._fields[0]) and second is getattr(r, r._fields[1])
    r = xpnn.sort(xpnn.tensor([2.0, 1.0]))
    back = pickle.loads(pickle.dumps(r)) if backend == "numpy" else r
    assert type(back) is xpnn.return_types.sort and back.indices.tolist() == [1, 0]
    assert xpnn.return_types.sort((1, 2)) == (1, 2)
    assert repr(xpnn.return_types.max((1, 2))) == \
        repr(torch.return_types.max((1, 2))).replace("torch.", "xpnn.")
