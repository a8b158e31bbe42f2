"""Every nn layer, loss and activation module (the LayerCase table in cases.py): the same
outputs and gradients on every backend and in PyTorch, bit-identical seeded init,
state_dict names and layouts of torch.nn, Module.to, repr; then Dropout's statistics."""
import numpy as np
import pytest
from cases import LAYERS, LAYERS_ELSEWHERE, host_inputs, to_torch, to_xpnn
from conftest import to_np

import xpnn
from xpnn import nn
from xpnn.backend import dtype_name, get_backend

EPS32 = float(np.finfo(np.float32).eps)
# float32, O(1) values, a handful of roundings per output (sums of <= 8 products, erf):
# another backend or PyTorch may round each step differently
TOL = 50 * EPS32
ROW_TOL = 16 * EPS32  # one row alone vs the same row in a batch (BLAS blocking)


def _build(case, backend):
    """The case's module on ``backend`` (parameters drawn after manual_seed(0))."""
    prev = get_backend(None).name
    xpnn.set_default_backend(backend)
    try:
        xpnn.manual_seed(0)
        be = get_backend(backend)
        module = case.build(nn, lambda a: be.asarray(a, dtype="float32"))
    finally:
        xpnn.set_default_backend(prev)
    return module.train(case.train)


def _torch_module(case):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = case.build(torch.nn, lambda a: torch.tensor(a, dtype=torch.float32))
    return module.train(case.train)


def _run(case, module, backend, host):
    """Forward and backward (with a fixed cotangent) -> (out, input grads, param grads)."""
    xs = to_xpnn(case.args, host, backend, "float32")
    out = module(*xs)
    assert dtype_name(out.dtype) == "float32"
    w = np.random.default_rng(5).standard_normal(out.shape)
    out.backward(xpnn.tensor(w, backend=backend, dtype="float32"))
    grads = {f"input{i}": to_np(x.grad) for i, x in enumerate(xs) if x.requires_grad}
    for name, p in module.named_parameters():
        assert dtype_name(p.grad.dtype) == "float32", name
        grads[name] = to_np(p.grad)
    return out.numpy(), grads


def _run_torch(case, module, host):
    import torch
    ts = to_torch(case.args, host, torch.float32)
    out = module(*ts)
    w = np.random.default_rng(5).standard_normal(tuple(out.shape))
    (out * torch.tensor(w, dtype=torch.float32)).sum().backward()
    grads = {f"input{i}": t.grad.numpy() for i, t in enumerate(ts) if t.requires_grad}
    grads.update({n: p.grad.numpy() for n, p in module.named_parameters()})
    return out.detach().numpy(), grads


def _assert_same(got, want, tol, what):
    out, grads = got
    want_out, want_grads = want
    np.testing.assert_allclose(out, want_out, rtol=tol, atol=tol, err_msg=f"{what}: output")
    assert sorted(grads) == sorted(want_grads), what
    for k in grads:
        np.testing.assert_allclose(grads[k], want_grads[k], rtol=tol, atol=tol,
                                   err_msg=f"{what}: grad of {k}")


@pytest.mark.parametrize("case", LAYERS, ids=repr)
def test_same_results_on_every_backend(case, backend):
    """Outputs and gradients agree with NumPy within TOL; seeded init is bit-identical."""
    host = host_inputs(case.args)
    ref_module, module = _build(case, "numpy"), _build(case, backend)
    for (k, a), (k2, b) in zip(ref_module.state_dict().items(), module.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(to_np(b), to_np(a), err_msg=f"initial {k}")
    _assert_same(_run(case, module, backend, host), _run(case, ref_module, "numpy", host),
                 TOL, f"{case.name} on {backend}")


@pytest.mark.parametrize("case", LAYERS, ids=repr)
def test_state_dict_matches_torch_and_torch_weights_load(case, backend):
    """Same state_dict keys, order and shapes as torch.nn; torch's weights (as NumPy arrays)
    load and give torch's outputs and gradients."""
    tmod = _torch_module(case)
    module = _build(case, backend)
    tsd, sd = tmod.state_dict(), module.state_dict()
    assert list(sd) == list(tsd)
    assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in tsd.values()]
    assert [n for n, _ in module.named_parameters()] == [n for n, _ in tmod.named_parameters()]
    result = module.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in module.state_dict().items():
        assert xpnn.backend.backend_of(v).name == backend
        np.testing.assert_array_equal(to_np(v), tsd[k].numpy(), err_msg=k)
    host = host_inputs(case.args)
    _assert_same(_run(case, module, backend, host), _run_torch(case, tmod, host), TOL,
                 f"{case.name} on {backend} vs torch")


@pytest.mark.parametrize("case", [c for c in LAYERS if c.rowwise], ids=repr)
def test_batched_equals_row_by_row(case, backend):
    module = _build(case, backend)
    host = host_inputs(case.args)
    full = module(*to_xpnn(case.args, host, backend, "float32")).numpy()
    for i in range(host[0].shape[0]):
        row = module(*to_xpnn(case.args, [h[i:i + 1] for h in host], backend, "float32"))
        np.testing.assert_allclose(row.numpy(), full[i:i + 1], rtol=ROW_TOL, atol=ROW_TOL,
                                   err_msg=f"row {i}")


@pytest.mark.parametrize("case", [c for c in LAYERS if "Sequential" in c.name
                                  or "weight" in c.name or c.name == "BCELoss:sum"], ids=repr)
def test_module_to_moves_parameters_and_buffers(case, backend):
    host = host_inputs(case.args)
    ref = _run(case, _build(case, "numpy"), "numpy", host)
    module = _build(case, "numpy").to(backend)
    for name, v in list(module.state_dict().items()):
        assert xpnn.backend.backend_of(v).name == backend, name
        assert dtype_name(v.dtype) == "float32"
    assert all(p.backend == backend for p in module.parameters())
    _assert_same(_run(case, module, backend, host), ref, TOL, f"{case.name} moved to {backend}")
    module.to("numpy")
    assert all(p.backend == "numpy" and (p.grad is None or p.grad.backend == "numpy")
               for p in module.parameters())  # gradients move along, as in PyTorch
    module.zero_grad()
    _assert_same(_run(case, module, "numpy", host), ref, 0, "moved back")


def test_module_to_dtype_and_train_eval_flags():
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    assert model.training and model[1].training
    model.eval()
    assert not model.training and not model[1].training
    model.to(dtype="float64")
    assert all(dtype_name(p.dtype) == "float64" for p in model.parameters())
    assert model.num_parameters() == 3 * 2 + 2


def test_repr_matches_torch_where_settings_agree():
    torch = pytest.importorskip("torch")
    build = (lambda m: m.Sequential(m.Flatten(), m.Linear(4, 3), m.ReLU(), m.Sequential(
        m.Linear(3, 2, bias=False), m.Tanh(), m.Softmax(dim=1), m.Identity())))
    assert repr(build(nn)) == repr(build(torch.nn))
    assert repr(nn.Dropout(0.25)) == repr(torch.nn.Dropout(0.25)) == \
        "Dropout(p=0.25, inplace=False)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss(reduction='sum')"
    assert repr(nn.MSELoss()) == "MSELoss()"


def test_layers_are_reentrant(backend):
    """A layer keeps no activations: two interleaved forward/backward passes through one
    module give the gradients of their own inputs."""
    lin = nn.Linear(3, 2)
    a = xpnn.tensor(np.ones((1, 3)), requires_grad=True)
    b = xpnn.tensor(np.full((1, 3), 2.0), requires_grad=True)
    ya, yb = lin(a), lin(b)
    (yb * 3.0).sum().backward()
    ya.sum().backward()
    w = to_np(lin.weight)
    np.testing.assert_allclose(to_np(a.grad), w.sum(0, keepdims=True), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(to_np(b.grad), 3 * w.sum(0, keepdims=True), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(to_np(lin.weight.grad), np.full((2, 3), 1 + 6.0), rtol=TOL)


# -- Dropout --------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_mask_statistics(p, backend):
    n = 20000
    drop = nn.Dropout(p)
    x = xpnn.tensor(np.ones((n,)), requires_grad=True)
    y = drop(x)
    out = y.numpy()
    kept = out != 0
    # keep rate ~ Binomial(n, 1-p)/n: 5 standard deviations
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=4 * EPS32)  # inverted scaling
    y.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), out)  # backward uses the same mask
    assert dtype_name(y.dtype) == "float32"


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("p", [1e-9, 0.3, 1 - 1e-9])
def test_dropout_mask_shapes_and_extreme_p(backend, shape, p):
    """Odd sizes (NumPy draws 32 bits an element from 64-bit words), several dims, and p at
    the edges of (0, 1): the mask is 0 or 1/(1-p), keeping all or nothing at the edges."""
    from xpnn.functional.dropout import dropout_mask
    be = xpnn.get_backend(backend)
    xpnn.manual_seed(5)
    m = to_np(dropout_mask(be, shape, be.dtype("float32"), p))
    assert m.shape == shape and m.dtype == np.float32
    assert set(np.unique(m)) <= {0.0, np.float32(1 / (1 - p))}
    if p < 1e-6:
        assert np.all(m != 0)
    if p > 1 - 1e-6:
        assert np.all(m == 0)


def test_dropout_eval_is_identity_and_p_edges(backend):
    x = xpnn.tensor(np.arange(6.0).reshape(2, 3) + 1)
    drop = nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), np.zeros((2, 3)))


def test_dropout_same_seed_same_mask(backend):
    x = xpnn.tensor(np.ones((64,)))
    drop = nn.Dropout(0.5)
    xpnn.manual_seed(11)
    m1, m2 = drop(x).numpy(), drop(x).numpy()
    xpnn.manual_seed(11)
    m3 = drop(x).numpy()
    np.testing.assert_array_equal(m1, m3)
    assert not np.array_equal(m1, m2)  # the stream moves on between calls
    xpnn.manual_seed(12)
    assert not np.array_equal(drop(x).numpy(), m1)


def test_every_layer_has_a_case():
    """Each Module class of these files has a LayerCase (or says in LAYERS_ELSEWHERE where it
    is tested)."""
    files = ("activation", "dropout", "linear", "loss", "module", "sequential", "padding",
             "distance", "pixelshuffle", "upsampling", "flatten")
    ours = {n for n in nn.__all__ if isinstance(getattr(nn, n), type)
            and getattr(nn, n).__module__.rsplit(".", 1)[-1] in files}
    covered = {c.name.split(":")[0] for c in LAYERS} | set(LAYERS_ELSEWHERE)
    assert ours - covered == set()


def _net(m):
    """The same custom architecture from xpnn.nn or torch.nn (``m``)."""
    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.blocks = m.ModuleList([m.Linear(3, 4), m.Linear(4, 4)])
            self.scale = m.Parameter(m.Linear(1, 2).weight.T * 0 + 0.5)  # (1, 2)
            self.head = m.Sequential(m.Tanh(), m.Linear(4, 2))

        def forward(self, x):
            for block in self.blocks:
                x = block(x).relu()  # a Tensor method in both libraries
            return self.head(x) * self.scale
    return Net()


def test_custom_module_with_module_list(backend):
    """Attributes register Parameters, ModuleLists and Sequentials under torch's names; a
    torch state dict of the same class loads and gives torch's output."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tnet, net = _net(torch.nn), _net(nn)
    tsd = tnet.state_dict()
    assert list(net.state_dict()) == list(tsd) == [
        "scale", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "head.1.weight", "head.1.bias"]
    assert [tuple(v.shape) for v in net.state_dict().values()] == \
        [tuple(v.shape) for v in tsd.values()]
    assert len(net.blocks) == 2 and isinstance(net.blocks[1], nn.Linear)
    assert isinstance(net.scale, nn.Parameter) and net.scale.requires_grad
    net.load_state_dict({k: v.detach().numpy() for k, v in tsd.items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    out = net(xpnn.tensor(x, backend=backend))
    ref = tnet(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=TOL, atol=TOL)
    out.sum().backward()
    ref.sum().backward()
    tgrads = dict(tnet.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(to_np(p.grad), tgrads[name].grad.numpy(), rtol=TOL,
                                   atol=TOL, err_msg=name)
