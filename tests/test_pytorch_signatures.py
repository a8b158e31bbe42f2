"""PyTorch 2.13's argument names where programs pass them by keyword:

* every nn module's forward and the normalization functionals: ``layer(input=x)``,
  ``F.layer_norm(input=x, normalized_shape=...)``, the "input" key of ``dynamic_shapes`` for
  an exported Sequential and the ONNX input name taken from the signature. Most modules
  named it ``x`` (Embedding ``ids``), so a keyword call was a TypeError and a Sequential's
  dynamic_shapes had to say "x" where PyTorch's says "input";
* autograd.grad with a dict of inputs (a dict of gradients back), ``only_inputs``,
  autograd.backward's ``grad_variables`` and dict ``inputs``; gradgradcheck's flags
  (``check_batched_grad=...`` was a TypeError).
"""
import inspect
import warnings

import numpy as np
import pytest

import xpnn
from xpnn import nn
from xpnn.nn import functional as F

torch = pytest.importorskip("torch")


def _named(fn):
    """The parameters a caller may pass by name, self left out; None for *args-only."""
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _module_classes():
    out = []
    for name in sorted(dir(torch.nn)):
        theirs, mine = getattr(torch.nn, name), getattr(nn, name, None)
        if inspect.isclass(theirs) and issubclass(theirs, torch.nn.Module) and \
                mine is not None and theirs.forward is not torch.nn.Module.forward:
            out.append(name)
    return out


MODULES = _module_classes()


def test_the_sweep_covers_the_modules():
    assert len(MODULES) > 150
    for name in ("Linear", "Conv2d", "Sequential", "Embedding", "LSTM", "LayerNorm"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_forward_argument_names_are_pytorchs(name):
    mine, theirs = _named(getattr(nn, name).forward), _named(getattr(torch.nn, name).forward)
    if mine is None or theirs is None:  # containers and bases: any positional arguments
        return
    assert mine[:len(theirs)] == theirs, f"nn.{name}.forward{tuple(mine)} vs torch's {theirs}"


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.Linear(4, 3), (2, 4)),
    (lambda m: m.Conv2d(2, 3, 3), (1, 2, 5, 5)),
    (lambda m: m.Sequential(m.Linear(4, 5), m.ReLU(), m.Linear(5, 2)), (3, 4)),
    (lambda m: m.LayerNorm(4), (2, 4)),
    (lambda m: m.MaxPool2d(2), (1, 1, 4, 4)),
    (lambda m: m.Flatten(), (2, 3, 4)),
    (lambda m: m.Identity(), (2, 3)),
    (lambda m: m.Softmax(dim=1), (2, 3)),
])
def test_a_keyword_call_gives_pytorchs_result(make, shape):
    torch.manual_seed(0)
    theirs = make(torch.nn)
    mine = make(nn)
    mine.load_state_dict({k: xpnn.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want = theirs(input=torch.tensor(x)).detach().numpy()
    got = mine(input=xpnn.tensor(x))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_embedding_and_rnn_by_keyword():
    ids = xpnn.tensor([[1, 2], [0, 3]])
    emb = nn.Embedding(4, 3)
    assert emb(input=ids).shape == (2, 2, 3)
    out, (h, c) = nn.LSTM(3, 5, batch_first=True)(input=emb(ids), hx=None)
    assert out.shape == (2, 2, 5) and h.shape == (1, 2, 5)


def test_norm_functionals_take_input_by_keyword():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    mean, var = np.zeros(6, np.float32), np.ones(6, np.float32)
    pairs = [
        (F.layer_norm(input=xpnn.tensor(x), normalized_shape=(3,)),
         torch.nn.functional.layer_norm(input=torch.tensor(x), normalized_shape=(3,))),
        (F.group_norm(input=xpnn.tensor(x), num_groups=2),
         torch.nn.functional.group_norm(input=torch.tensor(x), num_groups=2)),
        (F.batch_norm(input=xpnn.tensor(x), running_mean=xpnn.tensor(mean),
                      running_var=xpnn.tensor(var)),
         torch.nn.functional.batch_norm(input=torch.tensor(x), running_mean=torch.tensor(mean),
                                        running_var=torch.tensor(var))),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def _mlp(m):
    return m.Sequential(m.Linear(4, 8), m.ReLU(), m.Linear(8, 2))


def test_exported_sequential_takes_pytorchs_dynamic_shapes_key():
    x = xpnn.randn(5, 4)
    model = _mlp(nn).eval()
    ep = xpnn.export.export(model, (x,),
                            dynamic_shapes={"input": {0: xpnn.export.Dim("batch", max=64)}})
    y = xpnn.randn(9, 4)
    np.testing.assert_allclose(ep.module()(y).numpy(), model(y).numpy(), rtol=1e-5,
                               atol=1e-6)
    # the same dictionary is what torch 2.13 takes for its own Sequential
    torch.export.export(_mlp(torch.nn).eval(), (torch.randn(5, 4),),
                        dynamic_shapes={"input": {0: torch.export.Dim("batch", max=64)}})


def test_onnx_input_name_comes_from_the_forward_signature(tmp_path):
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    xpnn.onnx.export(_mlp(nn).eval(), (xpnn.randn(2, 4),), str(path))
    assert [i.name for i in onnx.load(str(path)).graph.input] == ["input"]


def test_grad_with_a_dict_of_inputs_returns_a_dict():
    a, b = xpnn.tensor([1.0, 2.0], requires_grad=True), xpnn.tensor(3.0, requires_grad=True)
    got = xpnn.autograd.grad((a * b).sum(), {"a": a, "b": b})
    assert list(got) == ["a", "b"]
    np.testing.assert_allclose(got["a"].numpy(), [3.0, 3.0])
    np.testing.assert_allclose(got["b"].numpy(), 3.0)
    ta, tb = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor(3.0, requires_grad=True)
    want = torch.autograd.grad((ta * tb).sum(), {"a": ta, "b": tb})
    assert list(want) == list(got)


def test_grad_only_inputs_is_accepted_and_false_warns():
    x = xpnn.tensor([1.0, 2.0], requires_grad=True)
    (g,) = xpnn.autograd.grad((x * x).sum(), x, None, None, False, True)  # torch's 6th slot
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    with pytest.warns(FutureWarning, match="only_inputs"):
        xpnn.autograd.grad((x * x).sum(), x, only_inputs=False)


def test_backward_grad_variables_and_dict_inputs():
    x = xpnn.tensor([1.0, 2.0], requires_grad=True)
    y = xpnn.tensor([1.0, 1.0], requires_grad=True)
    with pytest.warns(FutureWarning, match="grad_variables"):
        xpnn.autograd.backward(x * y, grad_variables=xpnn.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 10.0])
    with pytest.raises(RuntimeError, match="grad_variables"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        xpnn.autograd.backward(x * y, grad_tensors=xpnn.ones(2), grad_variables=xpnn.ones(2))
    x.grad = y.grad = None
    xpnn.autograd.backward((x * y).sum(), inputs={"x": x})
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])
    assert y.grad is None
    (x * y).sum().backward(inputs=[y])  # Tensor.backward passes inputs by name
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 2.0])


def test_gradgradcheck_takes_pytorchs_flags():
    x = xpnn.tensor([0.3, -0.7], dtype=xpnn.float64, requires_grad=True)
    assert xpnn.autograd.gradgradcheck(lambda t: (t ** 3).sum(), (x,), check_batched_grad=True,
                                       gen_non_contig_grad_outputs=True, masked=False)
    with pytest.raises(AssertionError, match="check_fwd_over_rev or check_rev_over_rev"):
        xpnn.autograd.gradgradcheck(lambda t: t.sum(), (x,), check_rev_over_rev=False)
    with pytest.raises(AssertionError, match="check_batched_grad=True requires"):
        xpnn.autograd.gradgradcheck(lambda t: t.sum(), (x,), check_fwd_over_rev=True,
                                    check_rev_over_rev=False, check_undefined_grad=False,
                                    check_batched_grad=True)


def test_distributed_names_outside_a_group():
    """group_src and barrier's timeout are in the signatures (tests/mpi runs them)."""
    import xpnn.distributed as dist
    for fn, name in ((dist.broadcast, "group_src"), (dist.broadcast_object_list, "group_src"),
                     (dist.barrier, "timeout")):
        assert name in inspect.signature(fn).parameters


PACKAGES = ["nn", "optim", "optim.lr_scheduler", "nn.init", "nn.utils", "utils.data",
            "distributions", "nn.utils.rnn", "autograd", "linalg", "fft", "special", "func",
            "utils.checkpoint", "amp", "testing", "nn.utils.parametrize", "nn.utils.prune",
            "optim.swa_utils", "distributed", "nn.attention", "nn.functional"]
# what keeps another name, and why
KNOWN = {
    "autograd.gradcheck": "xpnn.gradcheck(fn, *inputs): the pinned API (DESIGN.md); "
                          "gradcheck(f, (x,)) works, func=/inputs= by keyword do not",
    "autograd.gradgradcheck": "as gradcheck",
    "nn.RNNCellBase.__init__": "num_chunks: PyTorch's private base class argument",
}


def _callables(package):
    import importlib
    theirs = importlib.import_module(f"torch.{package}")
    mine = importlib.import_module(f"xpnn.{package}")
    for name in sorted(dir(theirs)):
        t, m = getattr(theirs, name, None), getattr(mine, name, None)
        if name.startswith("_") or m is None or not callable(t) or inspect.ismodule(t):
            continue
        if inspect.isclass(t):
            yield f"{package}.{name}.__init__", t.__init__, m.__init__
        else:
            yield f"{package}.{name}", t, m


def _keywords(fn):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None  # takes any keyword
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_keyword_pytorch_takes_is_taken(package):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        missing = {}
        for where, theirs, mine in _callables(package):
            want, got = _keywords(theirs), _keywords(mine)
            if want is None or got is None or where in KNOWN:
                continue
            lost = sorted(k for k in want - got if not k.startswith("_") and k != "self")
            if lost:
                missing[where] = lost
    assert not missing, missing


FACTORIES = [
    ("zeros", (2, 3), {}), ("ones", (2,), {}), ("empty", (2,), {}), ("full", ((2,), 1.5), {}),
    ("eye", (3,), {}), ("arange", (4,), {}), ("linspace", (0, 1, 5), {}),
    ("logspace", (0, 1, 5), {}), ("rand", (2,), {}), ("randn", (2,), {}),
    ("randint", (0, 5, (3,)), {}), ("randperm", (4,), {}), ("tril_indices", (3, 3), {}),
    ("triu_indices", (3, 3), {}), ("hann_window", (4,), {}), ("kaiser_window", (5,), {}),
    ("bartlett_window", (5,), {}), ("hamming_window", (5,), {}), ("scalar_tensor", (1.5,), {}),
]


@pytest.mark.parametrize("name, args, kwargs", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_factories_take_layout_and_pin_memory(name, args, kwargs):
    made = getattr(xpnn, name)(*args, layout=xpnn.strided, pin_memory=False, **kwargs)
    want = getattr(torch, name)(*args, layout=torch.strided, pin_memory=False, **kwargs)
    assert tuple(made.shape) == tuple(want.shape)
    assert str(made.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    with pytest.raises(NotImplementedError, match=f"{name}: layout=xpnn.sparse_coo"):
        getattr(xpnn, name)(*args, layout=xpnn.sparse_coo, **kwargs)


def test_pin_memory_true_is_accepted_as_tensor_pin_memory():
    """PyTorch without an accelerator refuses pin_memory=True; xpnn's pin_memory() returns
    the tensor itself, and the factories' keyword does the same nothing."""
    assert xpnn.zeros(2, pin_memory=True).tolist() == [0.0, 0.0]
    assert xpnn.ones(2).new_zeros(3, pin_memory=True).shape == (3,)


def test_rand_and_randn_take_size_by_keyword():
    assert xpnn.rand(size=(2, 3)).shape == (2, 3) == tuple(torch.rand(size=(2, 3)).shape)
    assert xpnn.randn(size=(4,)).shape == (4,)
    with pytest.raises(TypeError, match="size"):
        xpnn.randn()
    with pytest.raises(TypeError, match="size"):
        torch.randn()
    assert xpnn.rand(()).shape == ()
    assert xpnn.empty(2, memory_format=xpnn.contiguous_format).shape == (2,)


def test_new_factories_honour_device_and_layout():
    """x.new_zeros(..., device=) used to keep x's device silently."""
    x = xpnn.zeros(2, backend="array_api_strict")
    for make in (lambda: x.new_zeros(3, device="device1"),
                 lambda: x.new_ones(3, device="device1"),
                 lambda: x.new_empty(3, device="device1"),
                 lambda: x.new_full((3,), 2.0, device="device1")):
        y = make()
        assert y.shape == (3,) and str(y.device) == str(xpnn.ones(1, backend="array_api_strict",
                                                                 device="device1").device)
    with pytest.raises(NotImplementedError, match="new_zeros: layout"):
        x.new_zeros(2, layout=xpnn.sparse_coo)


def test_functionals_take_pytorchs_keywords():
    rng = np.random.default_rng(2)
    img = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    got = F.conv2d(input=xpnn.tensor(img), weight=xpnn.tensor(w), padding=1)
    want = torch.nn.functional.conv2d(input=torch.tensor(img), weight=torch.tensor(w), padding=1)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)
    seq = rng.standard_normal((1, 2, 7)).astype(np.float32)
    w1 = rng.standard_normal((3, 2, 2)).astype(np.float32)
    for name, x, wt in (("conv1d", seq, w1), ("conv_transpose1d", seq, w1.transpose(1, 0, 2)),
                        ("conv_transpose2d", img, w.transpose(1, 0, 2, 3))):
        wt = np.ascontiguousarray(wt)
        got = getattr(F, name)(input=xpnn.tensor(x), weight=xpnn.tensor(wt))
        want = getattr(torch.nn.functional, name)(input=torch.tensor(x), weight=torch.tensor(wt))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(
        np.float32)
    np.testing.assert_allclose(F.linear(input=xpnn.tensor(a), weight=xpnn.tensor(b)).numpy(),
                               a @ b.T, rtol=1e-5, atol=1e-6)
    assert F.one_hot(input=xpnn.tensor([0, 2]), num_classes=3).tolist() == \
        torch.nn.functional.one_hot(input=torch.tensor([0, 2]), num_classes=3).tolist()


def test_special_functions_named_x_as_pytorch():
    x = np.array([0.1, 0.5], np.float32)
    for name in ("airy_ai", "spherical_bessel_j0", "scaled_modified_bessel_k0"):
        got = getattr(xpnn.special, name)(x=xpnn.tensor(x))
        want = getattr(torch.special, name)(x=torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)
    got = xpnn.special.chebyshev_polynomial_t(x=xpnn.tensor(x), n=3)
    want = torch.special.chebyshev_polynomial_t(x=torch.tensor(x), n=3)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_take_and_gather_keywords():
    t = xpnn.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert xpnn.take(t, index=xpnn.tensor([0, 3])).tolist() == [1.0, 4.0]
    assert t.take(index=xpnn.tensor([1])).tolist() == [2.0]
    assert xpnn.take(t, indices=xpnn.tensor([2])).tolist() == [3.0]  # the Array API's name
    with pytest.raises(TypeError, match="take: give the index once"):
        xpnn.take(t, xpnn.tensor([0]), indices=xpnn.tensor([0]))
    idx = xpnn.tensor([[1], [0]])
    assert t.gather(1, idx, sparse_grad=False).tolist() == [[2.0], [3.0]]


def test_zeros_ones_empty_write_into_out():
    """out= was accepted and ignored: ``torch.zeros(3, out=buf)`` left buf as it was."""
    buf = xpnn.ones(3)
    assert xpnn.zeros(3, out=buf) is buf and buf.tolist() == [0.0, 0.0, 0.0]
    ints = xpnn.zeros(4, dtype=xpnn.int64)
    xpnn.ones(2, 2, out=ints)  # out's own dtype, reshaped as resize_ does
    assert ints.tolist() == [[1, 1], [1, 1]] and ints.dtype == xpnn.int64
    assert xpnn.empty(4, out=ints).shape == (4,)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        xpnn.zeros(3, out=xpnn.ones(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="dtype"):
        xpnn.zeros(3, dtype=xpnn.float32, out=xpnn.ones(3, dtype=xpnn.int64))
    with pytest.raises(ValueError, match="zeros: out has shape"):
        xpnn.zeros(5, out=xpnn.ones(3))


def test_randint_like_device_and_integer_requires_grad():
    x = xpnn.zeros(2, backend="array_api_strict")
    far = xpnn.ones(1, backend="array_api_strict", device="device1").device
    assert str(xpnn.randint_like(x, 5, device="device1").device) == str(far)
    assert str(xpnn.randint_like(x, 5).device) == str(x.device)
    for make in (lambda lib: lib.randint(0, 5, (2,), requires_grad=True),
                 lambda lib: lib.randperm(3, requires_grad=True)):
        with pytest.raises(RuntimeError, match="floating point"):
            make(torch)
        with pytest.raises(RuntimeError, match="floating point"):
            make(xpnn)
    assert xpnn.randint(0, 5, (2,), dtype=xpnn.float32, requires_grad=True).requires_grad
