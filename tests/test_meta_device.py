"""PyTorch's "meta" device (xpnn/backend_meta.py), compared with torch 2.13: shapes, dtypes,
device, ``is_meta``, the exceptions of what a meta tensor refuses, printing, and the three
ways programs use it (a skeleton for ``functional_call``, data-free construction then
``to_empty``, shape inference). No values exist on meta, so nothing here compares values
except after ``to_empty`` + ``load_state_dict``, which must match exactly."""
import copy
import pickle

import numpy as np
import pytest

import xpnn
import xpnn.nn as nn
from tests.conftest import to_np

torch = pytest.importorskip("torch")


def _same_meta(got, want):
    """A meta xpnn tensor against a meta torch tensor: shape, dtype, device, is_meta."""
    assert got.is_meta and want.is_meta
    assert tuple(got.shape) == tuple(want.shape)
    assert xpnn.backend.dtype_name(got.dtype) == str(want.dtype).removeprefix("torch.")
    assert got.device.type == "meta" and got.device == xpnn.device("meta")
    assert str(got.device) == str(want.device) == "meta"


# -- creation --------------------------------------------------------------------------------
CREATE = [
    ("empty", lambda m, d: m.empty(2, 3, device=d)),
    ("zeros", lambda m, d: m.zeros(2, 3, device=d)),
    ("ones_int", lambda m, d: m.ones(4, dtype=m.int64, device=d)),
    ("randn", lambda m, d: m.randn(2, 3, device=d)),
    ("rand64", lambda m, d: m.rand(5, dtype=m.float64, device=d)),
    ("randint", lambda m, d: m.randint(0, 5, (3,), device=d)),
    ("full", lambda m, d: m.full((2,), 3.0, device=d)),
    ("arange", lambda m, d: m.arange(5, device=d)),
    ("eye", lambda m, d: m.eye(3, device=d)),
    ("tensor", lambda m, d: m.tensor([1.0, 2.0], device=d)),
    ("zeros_like", lambda m, d: m.zeros_like(m.empty(2, 2, device=d))),
    ("randn_like", lambda m, d: m.randn_like(m.empty(2, 2, device=d))),
    ("empty_like_to_meta", lambda m, d: m.empty_like(m.ones(3), device=d)),
    ("device_object", lambda m, d: m.zeros(2, device=m.device("meta"))),
]


@pytest.mark.parametrize("name,make", CREATE, ids=[c[0] for c in CREATE])
def test_creation_on_meta(backend, name, make):
    """Creation functions with device="meta", whatever the default backend."""
    _same_meta(make(xpnn, "meta"), make(torch, "meta"))


def test_meta_draws_spend_no_random_numbers():
    """A meta draw consumes nothing: the next real draw is the one it would have been."""
    xpnn.manual_seed(3)
    want = xpnn.randn(4).numpy()
    xpnn.manual_seed(3)
    xpnn.randn(1000, device="meta")
    np.testing.assert_array_equal(xpnn.randn(4).numpy(), want)


def test_meta_parameters_cost_no_memory():
    """A meta layer's parameters are zero-stride views of one element."""
    layer = nn.Linear(4096, 4096, device="meta")
    assert layer.weight.array.strides == (0, 0)
    root = layer.weight.array
    while root.base is not None:
        root = root.base
    assert root.size == 1


# -- printing and metadata ----------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda m: m.randn(2, 3, device="meta"),
    lambda m: m.zeros((), device="meta"),
    lambda m: m.zeros(0, device="meta"),
    lambda m: m.zeros(2, dtype=m.int64, device="meta"),
    lambda m: m.zeros(2, dtype=m.bool, device="meta"),
    lambda m: m.zeros(2, dtype=m.float64, device="meta"),
    lambda m: m.zeros(2, device="meta", requires_grad=True),
    lambda m: m.zeros(2, device="meta", requires_grad=True) * 2,
])
def test_prints_as_pytorch(make):
    got, want = make(xpnn), make(torch)
    text = repr(want).replace("torch.", "xpnn.").replace("MulBackward0", "MulBackward0")
    assert repr(got) == text and str(got) == text
    assert got.is_meta and not xpnn.ones(1).is_meta
    assert not got.is_cpu and got.is_meta == want.is_meta


def test_parameter_prints_as_pytorch():
    got = repr(nn.Linear(2, 3).to("meta").weight)
    want = repr(torch.nn.Linear(2, 3).to("meta").weight)
    assert got == want


# -- what a meta tensor refuses ----------------------------------------------------------------
REFUSE = {
    "item": lambda t: t[0, 0].item(),
    "item_many": lambda t: t.item(),
    "tolist": lambda t: t.tolist(),
    "numpy": lambda t: t.numpy(),
    "bool": lambda t: bool(t[0, 0]),
    "float": lambda t: float(t[0, 0]),
    "int": lambda t: int(t[0, 0]),
    "to_cpu": lambda t: t.to("cpu"),
    "cpu": lambda t: t.cpu(),
}


@pytest.mark.parametrize("op", sorted(REFUSE))
def test_refuses_as_pytorch(op):
    """The same exception class as torch 2.13 (xpnn's ShapeError is also a RuntimeError),
    and PyTorch's message where it names the meta device."""
    with pytest.raises(Exception) as want:
        REFUSE[op](torch.randn(2, 3, device="meta"))
    with pytest.raises(type(want.value)) as got:
        REFUSE[op](xpnn.randn(2, 3, device="meta"))
    if "meta" in str(want.value):
        assert str(got.value) == str(want.value)


@pytest.mark.parametrize("other", ["numpy", "torch"])
def test_mixing_with_real_tensors_raises(other):
    """An op between a meta and a real tensor raises, naming both devices (torch:
    RuntimeError; xpnn's device-mixing TypeError). array-api-strict is left out: its mixing
    with another library warns in broadcast.promote's dtype comparison first, meta or not."""
    with pytest.raises(TypeError, match="meta"):
        xpnn.randn(2, 3, device="meta") + xpnn.randn(2, 3, backend=other)
    with pytest.raises(TypeError, match="meta"):
        xpnn.randn(2, 3, backend=other) @ xpnn.randn(3, 2, device="meta")


# -- use 1: a skeleton for functional_call -------------------------------------------------------
def test_module_to_meta_then_functional_call(backend):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    base = copy.deepcopy(model).to("meta")
    assert all(p.is_meta and p.device.type == "meta" for p in base.parameters())
    assert all(not p.is_meta for p in model.parameters())  # the copy moved, not the model
    x = xpnn.randn(5, 4)
    got = xpnn.func.functional_call(base, dict(model.named_parameters()), (x,))
    np.testing.assert_array_equal(to_np(got), to_np(model(x)))


# -- use 2: data-free construction, then to_empty ---------------------------------------------
class _Net(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, device=device)
        self.bn = nn.BatchNorm2d(4, device=device)
        self.fc = nn.Linear(4 * 6 * 6, 5, device=device)

    def forward(self, x):
        return self.fc(xpnn.flatten(self.bn(self.conv(x)).relu(), 1))


@pytest.mark.parametrize("how", ["context", "argument"])
def test_construct_on_meta_then_to_empty_and_load(backend, how):
    if how == "context":
        with xpnn.device("meta"):
            net = _Net()
            assert xpnn.empty(2).is_meta
        assert not xpnn.empty(2).is_meta  # the previous default is back
    else:
        net = _Net(device="meta")
    assert all(t.is_meta for t in list(net.parameters()) + list(net.buffers()))
    real = _Net()
    net.to_empty(device="cpu")
    assert all(not t.is_meta for t in net.parameters())
    assert all(p.device == q.device for p, q in zip(net.parameters(), real.parameters()))
    net.load_state_dict(real.state_dict())
    net.eval(), real.eval()
    x = xpnn.randn(2, 3, 8, 8)
    np.testing.assert_array_equal(to_np(net(x)), to_np(real(x)))


def test_to_empty_then_reset_parameters():
    layer = nn.Linear(4, 5, device="meta")
    out = layer.to_empty(device="cpu")
    assert out is layer and layer.weight.device.type == "cpu"
    assert layer.weight.array.flags.writeable and layer.weight.array.strides != (0, 0)
    layer.reset_parameters()
    w = layer.weight.numpy()
    assert np.all(np.abs(w) <= 0.5) and np.unique(w).size == w.size  # drawn, U(-1/2, 1/2)


def test_init_on_meta_keeps_shapes():
    w = nn.Parameter(xpnn.empty(3, 4, device="meta"))
    for fill in (nn.init.normal_, nn.init.uniform_, nn.init.kaiming_uniform_,
                 nn.init.xavier_normal_, nn.init.trunc_normal_, nn.init.orthogonal_,
                 nn.init.zeros_, nn.init.ones_, nn.init.eye_):
        assert fill(w) is w
        assert w.is_meta and tuple(w.shape) == (3, 4) and w.requires_grad
    with xpnn.no_grad():
        w.add_(1).mul_(2)
    assert w.is_meta and tuple(w.shape) == (3, 4)


# -- use 3: shape inference ---------------------------------------------------------------------
SHAPES = [
    ("matmul", lambda m, a, b: a @ b, (2, 3), (3, 4)),
    ("bmm_broadcast", lambda m, a, b: m.matmul(a, b), (5, 2, 3), (3, 4)),
    ("add_broadcast", lambda m, a, b: a + b, (4, 1), (3,)),
    ("softmax", lambda m, a, b: m.softmax(a, dim=-1) * b, (2, 3), (2, 3)),
    ("sum_keepdim", lambda m, a, b: a.sum(dim=1, keepdim=True) + b.mean(), (2, 3), (2, 3)),
    ("argmax", lambda m, a, b: a.argmax(dim=1), (2, 3), (1,)),
    ("compare", lambda m, a, b: a > b, (2, 3), (2, 3)),
    ("cat", lambda m, a, b: m.cat([a, b], dim=0), (2, 3), (4, 3)),
    ("reshape_t", lambda m, a, b: a.reshape(3, 2).t(), (2, 3), (1,)),
    ("index", lambda m, a, b: a[:, 1:], (2, 3), (1,)),
    ("to_float64", lambda m, a, b: a.to(m.float64) + 1, (2, 3), (1,)),
    ("int_times_float", lambda m, a, b: a.long() * 2.5, (2, 3), (1,)),
]


@pytest.mark.parametrize("name,op,sa,sb", SHAPES, ids=[s[0] for s in SHAPES])
def test_ops_give_meta_results_with_pytorch_shapes(name, op, sa, sb):
    got = op(xpnn, xpnn.randn(*sa, device="meta"), xpnn.randn(*sb, device="meta"))
    want = op(torch, torch.randn(*sa, device="meta"), torch.randn(*sb, device="meta"))
    _same_meta(got, want)


def test_module_forward_and_backward_on_meta():
    """A whole module on a meta input: meta output of PyTorch's shape; backward fills meta
    gradients of the parameters' shapes."""
    xpnn.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(8 * 15 * 15, 10)).to("meta")
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                              torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(8 * 15 * 15, 10)).to("meta")
    out = net(xpnn.randn(2, 3, 32, 32, device="meta"))
    want = ref(torch.randn(2, 3, 32, 32, device="meta"))
    _same_meta(out, want)
    out.sum().backward()
    want.sum().backward()
    for p, q in zip(net.parameters(), ref.parameters()):
        _same_meta(p.grad, q.grad)


def test_to_meta_and_back_from_every_backend(backend):
    """``Tensor.to("meta")`` from any backend keeps shape and dtype; to_empty goes back to
    the default backend's CPU device."""
    t = xpnn.ones(2, 3, dtype=xpnn.float64)
    m = t.to("meta")
    assert m.is_meta and tuple(m.shape) == (2, 3) and xpnn.backend.dtype_name(m.dtype) == \
        "float64"
    layer = nn.Linear(3, 2).to("meta").to_empty(device="cpu")
    assert layer.weight.backend == xpnn.get_backend().name


def test_module_to_off_meta_refuses_as_pytorch():
    """``Module.to("cpu")`` of a meta module: PyTorch's NotImplementedError pointing at
    to_empty; a dtype cast stays on meta."""
    with pytest.raises(NotImplementedError) as want:
        torch.nn.Linear(2, 3, device="meta").to("cpu")
    with pytest.raises(NotImplementedError) as got:
        nn.Linear(2, 3, device="meta").to("cpu")
    assert str(got.value) == str(want.value)
    layer = nn.Linear(2, 3, device="meta").to(xpnn.float64)
    _same_meta(layer.weight, torch.nn.Linear(2, 3, device="meta").to(torch.float64).weight)


def test_device_context_nests_and_restores(backend):
    before = xpnn.get_default_device()
    with xpnn.device("meta"):
        assert xpnn.get_default_device() == xpnn.device("meta")
        with xpnn.device("cpu"):
            assert not xpnn.zeros(1).is_meta
        assert xpnn.zeros(1).is_meta
    assert xpnn.get_default_device() == before and not xpnn.zeros(1).is_meta


def test_meta_tensors_pickle_and_deepcopy():
    t = xpnn.randn(3, 2, dtype=xpnn.float64, device="meta", requires_grad=True)
    for back in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        _same_meta(back, torch.randn(3, 2, dtype=torch.float64, device="meta"))
        assert back.requires_grad
