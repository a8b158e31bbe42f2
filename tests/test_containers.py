"""ModuleDict, ParameterList and ParameterDict: torch's dict and list APIs, the same
state_dict names and order as torch.nn for the same operations, torch weights loading,
training through them, and clear errors. (Their forward/backward parity with torch is the
ModuleDict LayerCase in cases.py.)"""
import numpy as np
import pytest
from conftest import needs_torch, optional_torch, to_np

import xpnn
from xpnn import nn

torch, _ = optional_torch()  # None without PyTorch: its comparisons skip


def _ops(m, arr):
    """The same sequence of container operations in torch.nn or xpnn.nn (``m``)."""
    root = m.Module()
    root.blocks = m.ModuleDict([("b", m.Linear(2, 3)), ("a", m.Linear(3, 1))])
    root.blocks["c"] = m.Linear(1, 1, bias=False)
    root.blocks.update({"d": m.Tanh()})
    root.blocks.pop("b")
    root.plist = m.ParameterList([m.Parameter(arr(np.ones(2))), arr(np.zeros((2, 2)))])
    root.plist.extend([arr(np.full(3, 2.0))])
    root.plist += [arr(np.arange(4.0))]
    root.plist[1] = m.Parameter(arr(np.eye(2)))
    root.pdict = m.ParameterDict({"w": m.Parameter(arr(np.ones(3)))})
    root.pdict["v"] = arr(np.zeros(1))
    root.pdict.update([("u", m.Parameter(arr(np.ones((1, 2)))))])
    del root.pdict["w"]
    return root


@needs_torch
def test_same_state_dict_as_torch_and_torch_weights_load(backend):
    torch.manual_seed(0)
    theirs = _ops(torch.nn, lambda a: torch.tensor(a, dtype=torch.float32))
    ours = _ops(nn, lambda a: xpnn.tensor(a, backend=backend))
    tsd = theirs.state_dict()
    assert list(ours.state_dict()) == list(tsd) == [
        "blocks.a.weight", "blocks.a.bias", "blocks.c.weight", "plist.0", "plist.1",
        "plist.2", "plist.3", "pdict.v", "pdict.u"]
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in tsd.values()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(to_np(v), tsd[k].numpy(), err_msg=k)
        assert v.backend == backend
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.plist)
    np.testing.assert_array_equal(to_np(ours.plist[1]), np.eye(2))


def test_module_dict_is_an_ordered_dict():
    md = nn.ModuleDict({"x": nn.ReLU()})
    md["lin"] = nn.Linear(2, 2)
    assert list(md) == list(md.keys()) == ["x", "lin"] and len(md) == 2
    assert "lin" in md and "y" not in md
    assert [type(v).__name__ for v in md.values()] == ["ReLU", "Linear"]
    assert [k for k, _ in md.items()] == ["x", "lin"]
    md["x"] = nn.Tanh()  # replacing keeps the position, as a dict does
    assert list(md) == ["x", "lin"] and isinstance(md["x"], nn.Tanh)
    lin = md.pop("lin")
    assert isinstance(lin, nn.Linear) and list(md) == ["x"] and md.state_dict() == {}
    md.clear()
    assert len(md) == 0
    with pytest.raises(KeyError):
        md["missing"]
    with pytest.raises(TypeError, match=r"ModuleDict: value for 'a' must be a Module, got int"):
        md["a"] = 3
    with pytest.raises(KeyError, match=r"ModuleDict: key 'a.b' must .* no '\.'"):
        md["a.b"] = nn.ReLU()
    with pytest.raises(ValueError, match=r"ModuleDict.update: item 0 must be a \(key, value\)"):
        md.update([nn.ReLU()])


def test_parameter_list_is_a_list(backend):
    pl = nn.ParameterList([xpnn.zeros(2), nn.Parameter(xpnn.ones(3))])
    pl.append(xpnn.ones(1))
    assert len(pl) == 3 and [p.shape for p in pl] == [(2,), (3,), (1,)]
    assert pl[-1] is pl[2] and isinstance(pl[0], nn.Parameter)
    sub = pl[1:]
    assert isinstance(sub, nn.ParameterList) and len(sub) == 2 and sub[0] is pl[1]
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    with pytest.raises(IndexError, match=r"ParameterList: index 3 is out of range for 3"):
        pl[3]
    pl.append("w")  # torch >= 1.12: any object is held, only tensors become Parameters
    assert pl[3] == "w" and len(pl) == 4 and len(list(pl.parameters())) == 3
    assert "(0): Parameter containing: [" in repr(pl)


def test_parameter_dict_is_a_dict():
    pd = nn.ParameterDict({"a": xpnn.zeros(2)})
    assert pd.setdefault("b", xpnn.ones(1)) is pd["b"]
    assert list(pd) == ["a", "b"] and pd.get("z") is None and "a" in pd
    key, p = pd.popitem()
    assert key == "b" and isinstance(p, nn.Parameter) and list(pd) == ["a"]
    twin = pd.copy()
    assert twin["a"] is pd["a"] and twin is not pd
    assert [k for k, _ in pd.items()] == ["a"] and len(list(pd.values())) == 1
    pd.clear()
    with pytest.raises(KeyError, match="empty"):
        pd.popitem()
    with pytest.raises(TypeError, match=r"keys must be strings, got int"):
        pd[0] = xpnn.zeros(1)


def test_training_through_containers_moves_their_parameters(backend):
    """An optimizer sees every contained parameter; Module.to moves them."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleDict({"a": nn.Linear(3, 2), "b": nn.Linear(2, 1)})
            self.scale = nn.ParameterList([nn.Parameter(xpnn.ones(2))])
            self.shift = nn.ParameterDict({"s": nn.Parameter(xpnn.zeros(1))})

        def forward(self, x):
            return self.layers["b"](self.layers["a"](x) * self.scale[0]) + self.shift["s"]

    xpnn.manual_seed(0)
    net = Net().to(backend)
    assert all(p.backend == backend for p in net.parameters())
    assert len(list(net.parameters())) == 6
    opt = xpnn.optim.SGD(net.parameters(), lr=0.1)
    x = xpnn.tensor(np.ones((4, 3), np.float32), backend=backend)
    before = to_np(net.shift["s"]).copy()
    loss = (net(x) ** 2).mean()
    loss.backward()
    opt.step()
    assert not np.array_equal(to_np(net.shift["s"]), before)
    assert net.scale[0].grad is not None


def _relu_pool_x(rng, shape):
    """Inputs with the cases the reordering must get right: ties at the window maximum,
    windows of negatives only, zeros, and a mix."""
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    flat[::7] = 0.0
    flat[1::11] = flat[::11][:flat[1::11].size]  # ties
    flat[:24] = -np.abs(flat[:24])  # whole windows of negatives
    return x.astype(np.float32)


@pytest.mark.parametrize("pool", [
    lambda: nn.MaxPool2d(2), lambda: nn.MaxPool2d(3, stride=2, padding=1),
    lambda: nn.MaxPool2d(2, ceil_mode=True), lambda: nn.MaxPool1d(3, stride=2)])
def test_sequential_relu_then_max_pool_same_as_in_order(host_backend, rng, pool):
    """Sequential runs ReLU, MaxPool as MaxPool, ReLU: the values and the gradients of the
    input are the very same as running the modules in the written order."""
    p = pool()
    shape = (4, 3, 9, 9) if p.nd == 2 else (4, 3, 17)
    x0 = _relu_pool_x(rng, shape)
    dy = rng.standard_normal((1,)).astype(np.float32)
    seq = nn.Sequential(nn.ReLU(), p, nn.Flatten())
    seen = []

    def run(in_order):
        x = xpnn.tensor(x0, requires_grad=True, backend=host_backend)
        y = x
        if in_order:
            for m in seq:
                y = m(y)
        else:
            y = seq(x)
        w = xpnn.tensor(np.linspace(-1, 1, y.shape[1], dtype=np.float32),
                        backend=host_backend)
        ((y * w).sum() * float(dy[0])).backward()
        seen.append(x.grad)
        return to_np(y), to_np(x.grad)

    y1, g1 = run(True)
    y2, g2 = run(False)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    assert np.count_nonzero(g1) > 0


def test_sequential_keeps_order_for_subclasses_with_their_own_forward():
    class Negated(nn.ReLU):  # decreasing: max(-relu(x)) is not -relu(max(x))
        def forward(self, x):
            return -super().forward(x)

    class MeanPool(nn.MaxPool2d):  # relu(mean(x)) is not mean(relu(x))
        def forward(self, x):
            return xpnn.nn.functional.avg_pool2d(x, 2)
    x = xpnn.tensor(np.array([[-3.0, 1.0], [2.0, -4.0]], dtype=np.float32).reshape(1, 1, 2, 2))
    for relu, pool in ((Negated(), nn.MaxPool2d(2)), (nn.ReLU(), MeanPool(2))):
        want = pool(relu(x)).numpy()
        assert not np.array_equal(want, relu(pool(x)).numpy())  # the order matters here
        np.testing.assert_array_equal(nn.Sequential(relu, pool)(x).numpy(), want)


def test_sequential_keeps_order_for_hooks_and_indices(rng):
    seen = []
    relu, pool = nn.ReLU(), nn.MaxPool2d(2)
    relu.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
    nn.Sequential(relu, pool)(xpnn.randn(2, 3, 8, 8))
    assert seen == [(2, 3, 8, 8)]  # the hook saw ReLU's output before pooling
    y, idx = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))(
        xpnn.tensor(_relu_pool_x(rng, (2, 3, 8, 8))))
    assert tuple(idx.shape) == (2, 3, 4, 4)


def test_sequential_and_module_list_edit_as_pytorch():
    """Slices of a Sequential keep their children's names (and state_dict keys); the list
    edits PyTorch programs use (s[i] = m, del, insert, pop, +, +=, *) renumber as PyTorch;
    ModuleDict/ParameterDict take one another; ParameterDict sorts a plain dict's keys;
    Module.to refuses an integer dtype before changing anything."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, xpnn):
        tnn = lib.nn
        s = tnn.Sequential(tnn.Linear(2, 2), tnn.ReLU(), tnn.Linear(2, 2))
        out = [list(s[2:].state_dict()), [n for n, _ in s[::2].named_children()]]
        del s[0]
        out.append([n for n, _ in s.named_children()])
        s.insert(1, tnn.Tanh())
        s[0] = tnn.Sigmoid()
        out += [repr(s), repr(s.pop(0)), len(s + s)]
        s += tnn.Sequential(tnn.ReLU())
        out += [len(s), len(s * 2)]
        ml = tnn.ModuleList([tnn.ReLU(), tnn.Tanh()])
        del ml[0]
        ml.insert(0, tnn.Sigmoid())
        ml += [tnn.ReLU()]
        ml[1] = tnn.ELU()
        out += [repr(ml), repr(ml.pop(-1))]
        md = tnn.ModuleDict(tnn.ModuleDict({"q": tnn.ReLU()}))
        md.update(tnn.ModuleDict({"b": tnn.Tanh()}))
        pd = tnn.ParameterDict({"b": tnn.Parameter(lib.ones(1)),
                                "a": tnn.Parameter(lib.ones(1))})
        pd.update(tnn.ParameterDict({"q": tnn.Parameter(lib.ones(1))}))
        out += [list(md), list(pd)]
        lin = tnn.Linear(2, 2)
        with pytest.raises(TypeError, match="floating point"):
            lin.to(lib.int64)
        out.append(str(lin.weight.dtype).replace("torch.", ""))
        results.append(out)
    assert results[1] == results[0]
