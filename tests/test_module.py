"""Module's methods against torch.nn.Module's: traversal (shared modules, None slots,
prefixes, duplicates), state_dict / load_state_dict, buffers, hooks (forward, pre-forward,
full backward, compared with PyTorch's gradients), modes, dtypes, gradients, repr, and the
recipe Module.__new__ records."""
import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import nn

torch = pytest.importorskip("torch")
EPS32 = float(np.finfo(np.float32).eps)


def pair():
    """The same architecture in xpnn and torch, with one module reachable twice."""
    def build(lib):
        shared = lib.Linear(3, 3)
        block = lib.Sequential(lib.Linear(3, 4), lib.ReLU(), lib.Linear(4, 3))
        model = lib.Sequential(shared, block, shared, lib.BatchNorm1d(3))
        model.add_module("empty", None)
        model.register_buffer("scale", (xpnn if lib is nn else torch).ones(3))
        model.register_buffer("cache", (xpnn if lib is nn else torch).zeros(2),
                              persistent=False)
        return model
    return build(nn), build(torch.nn)


def test_traversal_matches_torch():
    ours, ref = pair()
    for args in [(), ("top",)]:
        kw = {"prefix": args[0]} if args else {}
        assert [n for n, _ in ours.named_modules(**kw)] == \
            [n for n, _ in ref.named_modules(**kw)]
        assert [n for n, _ in ours.named_parameters(**kw)] == \
            [n for n, _ in ref.named_parameters(**kw)]
        assert [n for n, _ in ours.named_buffers(**kw)] == \
            [n for n, _ in ref.named_buffers(**kw)]
    for kw in [{"remove_duplicate": False}, {"recurse": False}]:
        assert [n for n, _ in ours.named_parameters(**kw)] == \
            [n for n, _ in ref.named_parameters(**kw)]
        assert [n for n, _ in ours.named_buffers(**kw)] == \
            [n for n, _ in ref.named_buffers(**kw)]
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        [n for n, _ in ref.named_modules(remove_duplicate=False)]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in ref.named_children()]
    assert len(list(ours.children())) == len(list(ref.children())) == 3  # shared once, no None
    assert len(list(ours.modules())) == len(list(ref.modules()))
    assert len(list(ours.parameters())) == len(list(ref.parameters()))
    assert len(list(ours.parameters(recurse=False))) == 0
    assert len(list(ours.buffers())) == len(list(ref.buffers()))
    assert list(ours.state_dict()) == list(ref.state_dict())  # duplicates in, cache out


def test_state_dict_shares_arrays_and_keep_vars():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    sd = model.state_dict(prefix="net.")
    assert list(sd)[0] == "net.0.weight" and not sd["net.0.weight"].requires_grad
    with xpnn.no_grad():
        model[0].weight.fill_(2.0)
    assert np.all(to_np(sd["net.0.weight"]) == 2.0)  # shares the module's array
    kv = model.state_dict(keep_vars=True)
    assert kv["0.weight"] is model[0].weight and kv["1.running_mean"] is model[1].running_mean


def test_load_state_dict_result_errors_and_assign():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    sd = {k: v.numpy() + 1 for k, v in model.state_dict().items()}
    res = model.load_state_dict(sd)
    assert repr(res) == repr(torch.nn.Linear(1, 1).load_state_dict(
        torch.nn.Linear(1, 1).state_dict())) == "<All keys matched successfully>"
    partial = dict(sd)
    partial.pop("2.bias")
    partial["junk"] = np.zeros(1)
    res = model.load_state_dict(partial, strict=False)
    assert res.missing_keys == ["2.bias"] and res.unexpected_keys == ["junk"]
    with pytest.raises(RuntimeError, match=r"missing keys \['2.bias'\]") as e:
        model.load_state_dict(partial)
    assert isinstance(e.value, KeyError)  # xpnn's older type too
    with pytest.raises(RuntimeError, match="has shape"):
        model.load_state_dict({**sd, "0.bias": np.zeros(4)})
    w = xpnn.zeros(3, 2, dtype=xpnn.float64)
    p = model[0].weight
    model.load_state_dict({"0.weight": w}, strict=False, assign=True)
    assert model[0].weight is p and p.dtype == xpnn.float64 and p.array is w.array
    model.load_state_dict({"0.weight": np.ones((3, 2), np.float32)}, strict=False)
    assert p.dtype == xpnn.float64  # without assign the module's dtype stays


def test_register_buffer_and_parameter_checks():
    m = nn.Linear(2, 2)
    for bad, err in [("a.b", KeyError), ("", KeyError), ("weight", KeyError), (3, TypeError)]:
        with pytest.raises(err):
            m.register_buffer(bad, xpnn.zeros(1))
        with pytest.raises(err):
            torch.nn.Linear(2, 2).register_buffer(bad, torch.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'list' object to buffer 'b'"):
        m.register_buffer("b", [1.0])
    with pytest.raises(TypeError, match="Parameter or None required"):
        m.register_parameter("q", xpnn.zeros(2))
    m.register_parameter("q", nn.Parameter(xpnn.zeros(2)))
    m.register_buffer("steps", xpnn.zeros(1, dtype=xpnn.int64), persistent=False)
    assert "q" in m.state_dict() and "steps" not in m.state_dict()
    assert [n for n, _ in m.named_buffers()] == ["steps"]
    m.register_buffer("steps", m.steps)  # registering again makes it persistent
    assert "steps" in m.state_dict()
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    m.register_module("sub", nn.ReLU())
    assert m.get_submodule("sub") is m.sub


def test_forward_hooks_replace_inputs_and_outputs():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: out + 100)
    h3 = lin.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
    x = xpnn.ones(1, 2)
    np.testing.assert_allclose(to_np(lin(x)), to_np(lin.bias)[None] + 100, rtol=1e-6)
    assert calls == ["first"]
    h1.remove(), h2.remove(), h3.remove()
    np.testing.assert_allclose(to_np(lin(x)), to_np(x @ lin.weight.T + lin.bias), rtol=1e-6)
    with lin.register_forward_pre_hook(lambda m, a, k: (a, {"y": 5}), with_kwargs=True):
        class Two(nn.Module):
            def forward(self, x, y=0):
                return x + y
        two = Two()
        two.register_forward_pre_hook(lambda m, a, k: (a, {"y": 5}), with_kwargs=True)
        seen = []
        two.register_forward_hook(lambda m, a, k, out: seen.append(k), with_kwargs=True)
        assert to_np(two(xpnn.zeros(1))).tolist() == [5.0] and seen == [{"y": 5}]
    assert not lin._forward_pre_hooks  # the handle's context manager removed it

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    boom, ran = Boom(), []
    boom.register_forward_hook(lambda m, a, out: ran.append(out), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        boom(xpnn.zeros(1))
    assert ran == [None]


class Mul(nn.Module):
    def forward(self, x, y, scale):
        return x * y * scale


class TorchMul(torch.nn.Module):
    def forward(self, x, y, scale):
        return x * y * scale


@pytest.mark.parametrize("y_grad", [True, False])
def test_full_backward_hooks_match_torch(rng, y_grad):
    X = rng.standard_normal((2, 3)).astype(np.float32)
    Y = rng.standard_normal((2, 3)).astype(np.float32)

    def run(lib, mod):
        seen = []

        def hook(m, grad_input, grad_output):
            seen.append([None if g is None else g.numpy().copy() for g in grad_input] +
                        [g.numpy().copy() for g in grad_output])
            return tuple(None if g is None else g * 2 for g in grad_input)
        mod.register_full_backward_pre_hook(lambda m, go: tuple(g * 3 for g in go))
        mod.register_full_backward_hook(hook)
        x = lib.tensor(X, requires_grad=True)
        y = lib.tensor(Y, requires_grad=y_grad)
        out = mod(x, y, 0.5)
        (out * out).sum().backward()
        return seen, x.grad.numpy(), None if y.grad is None else y.grad.numpy()

    ours, ref = run(xpnn, Mul()), run(torch, TorchMul())
    assert len(ours[0]) == len(ref[0]) == 1
    for a, b in zip(ours[0][0], ref[0][0]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=16 * EPS32)
    np.testing.assert_allclose(ours[1], ref[1], rtol=16 * EPS32)  # the hook's x2, pre's x3
    assert (ours[2] is None) == (ref[2] is None)


def test_backward_hook_without_input_grads_and_on_a_layer(backend):
    lin = nn.Linear(3, 2)
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go[0].shape)))
    lin(xpnn.ones(4, 3)).sum().backward()  # the input needs no gradient
    assert got == [((None,), (4, 2))] and lin.weight.grad is not None
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        lin.register_backward_hook(lambda *a: None)


def test_modes_dtypes_and_gradients():
    calls = []

    class Spy(nn.ReLU):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), Spy())
    assert model.eval() is model and not model[1].training and calls == [False]
    model.train()
    assert all(m.training for m in model.modules()) and calls == [False, True]
    with pytest.raises(ValueError, match="expected to be boolean"):
        model.train("no")
    order = []
    model.apply(lambda m: order.append(type(m).__name__))
    ref = []
    torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU()).apply(
        lambda m: ref.append(type(m).__name__))
    assert order == ["Linear", "BatchNorm1d", "Spy", "Sequential"]  # children first
    assert ref == ["Linear", "BatchNorm1d", "ReLU", "Sequential"]
    model.double()
    assert model[0].weight.dtype == xpnn.float64 and model[1].running_var.dtype == xpnn.float64
    assert model[1].num_batches_tracked.dtype == xpnn.int64  # integer buffers stay
    model.float()
    assert model[0].weight.dtype == xpnn.float32
    model(xpnn.randn(4, 2)).sum().backward()
    g = model[0].weight.grad
    model.zero_grad(set_to_none=False)
    assert model[0].weight.grad is g and not to_np(g).any()
    model.zero_grad()
    assert model[0].weight.grad is None
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_get_submodule_parameter_buffer():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert model.get_submodule("1") is model[1] and model.get_submodule("") is model
    assert model.get_parameter("0.bias") is model[0].bias
    assert model.get_buffer("1.running_mean") is model[1].running_mean
    with pytest.raises(AttributeError, match="has no attribute `7`"):
        model.get_submodule("7")
    with pytest.raises(AttributeError, match="is not an nn.Module"):
        model.get_submodule("0.weight")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        model.get_parameter("1.running_mean")


def test_repr_matches_torch():
    class Block(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.n, self.fc = n, nn.Linear(n, n)

        def extra_repr(self):
            return f"n={self.n}\nsecond line"

    class Block_(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.n, self.fc = n, torch.nn.Linear(n, n)

        def extra_repr(self):
            return f"n={self.n}\nsecond line"

    def build(lib, blk):
        return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.ReLU(), lib.Flatten(),
                              lib.Sequential(lib.Linear(4, 2), lib.GELU()),
                              lib.Embedding(10, 4), lib.LSTM(4, 6, batch_first=True), blk(3))
    assert repr(build(nn, Block)) == repr(build(torch.nn, Block_)).replace("Block_", "Block")


def test_new_records_the_recipe():
    import copy
    import gc
    lin = nn.Linear(3, 4, bias=False)
    assert lin._recipe == ((3, 4), {"bias": False})
    dims = [lin]
    wrap = nn.Sequential(nn.ModuleList(dims), nn.ReLU())
    dims.append(nn.ReLU())  # the recipe keeps the list as the constructor got it
    (args, _) = wrap._recipe
    assert args[0]() is wrap[0] and len(wrap[0]._recipe[0][0]) == 1
    assert wrap[0]._recipe[0][0][0]() is lin  # Modules are held weakly
    twin = copy.deepcopy(wrap)
    assert twin[0][0] is not lin and twin._recipe[0][1]() is twin[1]  # the copy's own
    import pickle
    again = pickle.loads(pickle.dumps(twin))  # (multiprocessing pickles modules)
    assert again._recipe[0][0].cls is nn.ModuleList
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 2)
    ref = enc._recipe[0][0]
    del layer
    gc.collect()
    assert ref() is None and ref.cls is nn.TransformerEncoderLayer  # the template is freed


def test_deepcopy_of_a_model_drops_parameter_gradients_as_pytorch():
    """copy.deepcopy(model) gives parameters without .grad (PyTorch's Parameter); a plain
    tensor's copy keeps its gradient, as in PyTorch."""
    import copy
    model = nn.Linear(2, 2)
    model(xpnn.ones(1, 2)).sum().backward()
    twin = copy.deepcopy(model)
    assert twin.weight.grad is None and model.weight.grad is not None
    np.testing.assert_array_equal(twin.weight.numpy(), model.weight.numpy())
    t = xpnn.ones(2, requires_grad=True)
    (t * 2).sum().backward()
    np.testing.assert_array_equal(copy.deepcopy(t).grad.numpy(), [2.0, 2.0])
