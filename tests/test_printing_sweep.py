"""What PyTorch programs print, compared with torch 2.13: tensors (formats, summaries,
dtypes, grad_fn names), 0-d format specs, print options, optimizer reprs and the small
top-level queries programs print (``torch.backends.mps.is_available()``, version checks).

torch's text is compared with its own name replaced by xpnn's ("torch." -> "xpnn.").
"""
import collections
import re

import pytest

import xpnn

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")

# Each case builds the same tensor from either module (both spell the API alike).
TENSORS = {
    "0d_float": lambda M: M.tensor(3.5),
    "0d_int": lambda M: M.tensor(3),
    "0d_bool": lambda M: M.tensor(True),
    "0d_neg_zero": lambda M: M.tensor(-0.0),
    "0d_tiny": lambda M: M.tensor(1e-8),
    "0d_big": lambda M: M.tensor(12345678.9),
    "empty": lambda M: M.tensor([]),
    "empty_2d": lambda M: M.zeros(0, 3),
    "empty_int": lambda M: M.zeros(2, 0, dtype=M.int64),
    "int": lambda M: M.tensor([1, -2, 300]),
    "int32": lambda M: M.tensor([1, 2, 3], dtype=M.int32),
    "uint8": lambda M: M.ones(2, 2, dtype=M.uint8),
    "bool": lambda M: M.tensor([True, False]),
    "float16": lambda M: M.tensor([1.5, 2.25], dtype=M.float16),
    "float64": lambda M: M.tensor([1.5, 2.25], dtype=M.float64),
    "float64_whole": lambda M: M.tensor([1.0, 2.0], dtype=M.float64),
    "summarized_1d": lambda M: M.arange(2000),
    "summarized_2d": lambda M: M.arange(2000.0).reshape(40, 50),
    "summarized_3d": lambda M: M.arange(3000.0).reshape(10, 10, 30),
    "nan_inf_whole": lambda M: M.tensor([NAN, 1.0, INF, -INF]),
    "nan_inf_frac": lambda M: M.tensor([NAN, 1.5, INF]),
    "all_nan": lambda M: M.tensor([NAN, NAN]),
    "neg_zero": lambda M: M.tensor([-0.0, 0.0, 1.0]),
    "neg_zero_frac": lambda M: M.tensor([-0.0, 0.5]),
    "sci_big": lambda M: M.tensor([1e10, 1.0]),
    "sci_small": lambda M: M.tensor([1e-10, 1.0]),
    "sci_mixed": lambda M: M.tensor([1e20, -3e-20, 0.0]),
    "sci_wide": lambda M: M.tensor([1.0, 1000.0, 0.001]),
    "wide_whole": lambda M: M.tensor([100000.0, 2.0]),
    "wide_frac": lambda M: M.tensor([100000.5, 2.0]),
    "matrix": lambda M: M.tensor([[1.5, -2.25], [3.0, 4.125]]),
    "int_3d": lambda M: M.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]),
    "wrapped": lambda M: M.ones(100) * 0.5,
    "requires_grad": lambda M: M.tensor([1.0, 2.0], requires_grad=True),
    "float64_requires_grad": lambda M: M.tensor(1.0, dtype=M.float64, requires_grad=True),
}


def as_xpnn(text):
    return text.replace("torch.", "xpnn.")


@pytest.fixture
def printoptions():
    """Restores the default print options of both libraries after a test changes them."""
    yield
    xpnn.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("case", sorted(TENSORS))
def test_tensor_repr_matches_torch(case):
    make = TENSORS[case]
    x, t = make(xpnn), make(torch)
    assert repr(x) == as_xpnn(repr(t))
    assert str(x) == repr(x)


# Expressions on x (2, 3) and y (2, 3), both requiring grad, and int labels lab (2,):
# each result's grad_fn prints PyTorch's node name.
GRAD_FNS = [
    "x + y", "x - y", "x * y", "x / y", "x * 2", "x ** 2", "x ** y", "-x", "x.exp()",
    "x.log()", "x.sqrt()", "x.abs()", "x.tanh()", "x.sigmoid()", "T.relu(x)", "F.gelu(x)",
    "F.silu(x)", "F.leaky_relu(x)", "F.elu(x)", "x.sum()", "x.sum(1)", "x.mean()",
    "x.mean(1)", "x.max()", "x.max(1)[0]", "x.amax(1)", "x.norm()", "x.view(6)",
    "x.reshape(6)", "x.flatten()", "x[0]", "x[:, 1]", "x[0:1]", "x[[0, 1]]", "T.cat([x, y])",
    "T.stack([x, y])", "x @ y.t()", "x.mm(y.t())", "F.linear(x, y)",
    "F.linear(x, y, y[0, :2])", "F.softmax(x, 1)", "F.log_softmax(x, 1)",
    "F.cross_entropy(x, lab)", "F.nll_loss(x, lab)", "F.mse_loss(x, y)", "F.l1_loss(x, y)",
    "F.binary_cross_entropy_with_logits(x, y)", "x.clamp(0, 1)", "T.where(x > 0, x, y)",
    "x.double()", "F.pad(x, (1, 1))", "x.log1p()", "x.cumsum(0)", "x.logsumexp(1)",
    "F.layer_norm(x, (3,))", "x.narrow(0, 0, 1)", "x.select(0, 1)",
]


def _grad_fn_text(text):
    found = re.search(r"grad_fn=<(\w+)>", text)
    return found and found.group(1)


@pytest.mark.parametrize("expr", GRAD_FNS)
def test_grad_fn_name_matches_torch(backend, expr):
    names = []
    for M in (xpnn, torch):
        x = M.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]], requires_grad=True)
        y = M.tensor([[0.3, 0.2, 0.1], [0.4, 0.6, 0.7]], requires_grad=True)
        env = {"T": M, "F": M.nn.functional, "x": x, "y": y, "lab": M.tensor([0, 2])}
        names.append(_grad_fn_text(repr(eval(expr, env))))
    assert names[0] == names[1]


def test_grad_fn_names_of_layers():
    """The nodes of the layers in every tutorial: conv, pools, batch norm, embedding,
    Linear on 2-D and 3-D input."""
    def nodes(M):
        M.manual_seed(0)
        F = M.nn.functional
        x = M.randn(2, 3, 8, 8, requires_grad=True)
        w = M.randn(4, 3, 3, 3, requires_grad=True)
        seq = M.randn(2, 3, 4)
        outs = [F.conv2d(x, w), F.max_pool2d(x, 2), F.avg_pool2d(x, 2),
                M.nn.BatchNorm2d(3)(x), F.embedding(M.tensor([[1, 2]]), w.view(4, -1)),
                M.flatten(x, 1), M.nn.Linear(4, 2)(seq), M.nn.Linear(4, 2)(seq[0]),
                M.nn.Linear(4, 2, bias=False)(seq[0])]
        return [_grad_fn_text(repr(o)) for o in outs]
    assert nodes(xpnn) == nodes(torch)


def test_format_specs_on_0d_tensors():
    for M in (xpnn, torch):
        loss = M.tensor(0.123456)
        texts = [f"{loss:.4f}", f"{loss.item():.2f}", format(loss, ".3f"), f"{loss}",
                 "{}".format(loss), f"{M.tensor(5):>5}", f"{M.tensor(5):d}"]
        if M is xpnn:
            got = texts
        else:
            assert got == [as_xpnn(t) for t in texts]
    with pytest.raises(TypeError, match="Tensor.__format__"):
        format(xpnn.tensor([1.0, 2.0]), ".2f")


def test_python_values_match_torch():
    for make in (lambda M: M.tensor([[1.0, 2.0], [3.0, 4.0]]), lambda M: M.tensor(2.5),
                 lambda M: M.tensor([1, 2]), lambda M: M.tensor([True])):
        got, want = make(xpnn).tolist(), make(torch).tolist()
        assert got == want and type(got) is type(want)
    for value in (2.5, 3, True):
        got, want = xpnn.tensor(value).item(), torch.tensor(value).item()
        assert got == want and type(got) is type(want)


def test_containers_of_tensors_print_like_torch():
    def text(M):
        x = M.tensor([1.5, 2.0])
        return f"{[x, x]} {dict(a=x, b=M.tensor(3))} {(x,)}"
    assert text(xpnn) == as_xpnn(text(torch))


def test_grad_and_shape_print_like_torch():
    def text(M):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        before = repr(x.grad)
        (x * x).sum().backward()
        return f"{before} {x.grad} {x.grad.requires_grad} {x.shape} {x.size()} {x.device}"
    assert text(xpnn) == as_xpnn(text(torch))


@pytest.mark.parametrize("options", [
    dict(precision=2), dict(sci_mode=False), dict(sci_mode=True), dict(threshold=5),
    dict(edgeitems=1, threshold=3), dict(linewidth=30), dict(profile="short"),
    dict(profile="full"),
])
def test_set_printoptions_matches_torch(printoptions, options):
    for M in (xpnn, torch):
        assert M.set_printoptions(**options) is None
    for make in (lambda M: M.tensor([1.23456, 2.0]), lambda M: M.tensor([1e-8, 1.0]),
                 lambda M: M.arange(10), lambda M: M.arange(12.0).reshape(3, 4),
                 lambda M: M.arange(20.0) / 3, lambda M: M.arange(1200.0)):
        assert repr(make(xpnn)) == as_xpnn(repr(make(torch)))


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-4)),
    ("Adam", dict(lr=1e-3)), ("AdamW", dict(lr=1e-3)), ("RMSprop", dict(lr=1e-2)),
])
def test_optimizer_repr_matches_torch(name, kwargs):
    texts = []
    for M in (xpnn, torch):
        m = M.nn.Linear(2, 3)
        groups = [{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5}]
        texts.append(repr(getattr(M.optim, name)(groups, **kwargs)))
    assert texts[0] == texts[1]  # the implementation switches too, values as given
    assert texts[0].startswith(f"{name} (\nParameter Group 0\n")
    assert "\n\nParameter Group 1\n" in texts[0]  # an empty line between groups


def test_optimizer_state_dict_structure():
    for M in (xpnn, torch):
        m = M.nn.Linear(2, 3)
        opt = M.optim.Adam(m.parameters())
        m(M.ones(1, 2)).sum().backward()
        opt.step()
        sd = opt.state_dict()
        shape = (list(sd), sorted(sd["state"]), sorted(sd["state"][0]),
                 sd["param_groups"][0]["params"])
        if M is xpnn:
            got = shape
    assert got == shape


def test_module_printing_patterns():
    for M in (xpnn, torch):
        model = M.nn.Sequential(M.nn.Linear(2, 3), M.nn.ReLU(), M.nn.Linear(3, 1))
        keys = model.state_dict().keys()
        assert type(keys) is type(collections.OrderedDict().keys())
        assert str(keys) == "odict_keys(['0.weight', '0.bias', '2.weight', '2.bias'])"
        assert model.eval() is model and repr(model.train()) == repr(model)
        assert repr(model.named_parameters()).startswith(
            "<generator object Module.named_parameters at ")
        first = repr(list(model.parameters())[0])
        assert first.startswith("Parameter containing:\ntensor([[")
        assert first.endswith("requires_grad=True)")
        w = M.empty(3, 5)
        assert M.nn.init.xavier_uniform_(w) is w
    assert repr(xpnn.nn.init.constant_(xpnn.ones(2, 2), 0.5)) == \
        as_xpnn(repr(torch.nn.init.constant_(torch.ones(2, 2), 0.5)))


def test_top_level_queries_programs_print():
    assert xpnn.backends.mps.is_available() is False
    assert xpnn.backends.mps.is_built() is False
    assert isinstance(xpnn.cuda.is_available(), bool)
    assert str(xpnn.device("cpu")) == str(torch.device("cpu"))
    assert repr(xpnn.device("cuda:1")) == repr(torch.device("cuda:1"))
    assert type(xpnn.manual_seed(0)).__name__ == type(torch.manual_seed(0)).__name__
    # the version checks programs write run (xpnn's own version number decides them)
    assert isinstance(tuple(map(int, xpnn.__version__.split(".")[:2])) >= (1, 8), bool)
    assert isinstance(xpnn.__version__ >= "1.8", bool)


@pytest.mark.xfail(strict=True, reason="known difference: a tensor's dtype is its backend's "
                   "(numpy.float32 prints 'float32'), get_default_dtype() returns a plain "
                   "name and str(xpnn.float32) is 'float32'; torch prints 'torch.float32'")
@pytest.mark.parametrize("make", [lambda M: M.tensor([1.0]).dtype,
                                  lambda M: M.get_default_dtype(), lambda M: M.float32])
def test_dtype_prints_like_torch(make):
    assert str(make(xpnn)) == as_xpnn(str(make(torch)))


def test_grad_fn_objects_print_as_pytorchs():
    """print(y.grad_fn), as the autograd tutorial does: <MulBackward0 object at 0x...>."""
    torch = pytest.importorskip("torch")
    pattern = re.compile(r"<(\w+) object at 0x[0-9a-f]+>")
    for make in (lambda lib, x: (x * 2), lambda lib, x: (x * 2).sum(),
                 lambda lib, x: lib.nn.functional.relu(x @ lib.ones(3, 4))):
        t = make(torch, torch.ones(2, 3, requires_grad=True)).grad_fn
        ours = make(xpnn, xpnn.ones(2, 3, requires_grad=True)).grad_fn
        assert pattern.fullmatch(repr(ours)).group(1) == pattern.fullmatch(repr(t)).group(1)
