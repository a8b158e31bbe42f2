"""FlopCounterMode (xpnn.utils.flop_counter) against torch 2.13's on the same models: totals,
per-op keys and per-module counts, forward only and forward + backward."""
import pytest
import torch

import xpnn
from torch.utils.flop_counter import FlopCounterMode as TorchCounter
from xpnn.utils.flop_counter import FlopCounterMode, register_flop_formula


def _count(lib, counter, build, inputs, backward):
    lib.manual_seed(0)
    model = build(lib.nn)
    xs = [lib.randn(*s, requires_grad=g) for s, g in inputs]
    with counter(display=False) as fc:
        y = model(*xs)
        y = y[0] if isinstance(y, tuple) else y
        if backward:
            y.sum().backward()
    return fc.get_total_flops(), {m: {str(k): v for k, v in c.items()}
                                  for m, c in fc.get_flop_counts().items()}


class _Matmuls:
    def __init__(self, nn):
        self.mod = type("E", (nn.Module,), {"forward": lambda s, a, b: (
            nn.functional.linear(a, b[0].mT) + s.lib.einsum("bij,bjk->bik", a, b) +
            a @ b)})()
        self.mod.lib = xpnn if nn is xpnn.nn else torch

    def __call__(self, *xs):
        return self.mod(*xs)


MODELS = {  # name: (build(nn), [(input shape, requires_grad)], per-module counts agree)
    "mlp": (lambda nn: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4, bias=False)),
            [((5, 8), False)], True),
    "mlp_3d_input_grad": (lambda nn: nn.Sequential(nn.Linear(8, 16), nn.Tanh(),
                                                   nn.Linear(16, 4)), [((2, 5, 8), True)], True),
    "cnn": (lambda nn: nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(4, 8, 3, groups=2), nn.Flatten(),
                                     nn.Linear(8 * 9, 10)), [((2, 3, 9, 9), False)], True),
    "conv1d": (lambda nn: nn.Sequential(nn.Conv1d(3, 6, 5, stride=2, padding=2, groups=3),
                                        nn.Conv1d(6, 4, 1)), [((2, 3, 16), True)], True),
    "mha_weights": (lambda nn: nn.MultiheadAttention(8, 2, batch_first=True),
                    [((2, 5, 8), False)] * 3, False),
    "matmul_einsum": (_Matmuls, [((2, 3, 4), True), ((2, 4, 5), True)], True),
}


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("name", list(MODELS))
def test_matches_torch(backend, name, backward):
    build, inputs, per_module = MODELS[name]
    if backward is False:
        with torch.no_grad(), xpnn.no_grad():
            want = _count(torch, TorchCounter, build, inputs, False)
            got = _count(xpnn, FlopCounterMode, build, inputs, False)
    else:
        want = _count(torch, TorchCounter, build, inputs, True)
        got = _count(xpnn, FlopCounterMode, build, inputs, True)
    assert got[0] == want[0] > 0
    if per_module:  # mha: torch's in-projection is an mm + add, xpnn's an addmm
        assert got[1] == want[1]


@pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")
@pytest.mark.parametrize("layers,bias,bi", [(1, True, False), (2, False, True)])
def test_recurrent_matches_torch_native_kernel(layers, bias, bi):
    # torch's CPU LSTM runs oneDNN, which its counter does not see; its native kernel's
    # products (mkldnn off) are what xpnn counts
    for cls in ("LSTM", "GRU"):
        def build(nn):
            return getattr(nn, cls)(4, 6, num_layers=layers, bias=bias, bidirectional=bi)
        with torch.backends.mkldnn.flags(enabled=False):
            want = _count(torch, TorchCounter, build, [((3, 2, 4), False)], True)
        assert _count(xpnn, FlopCounterMode, build, [((3, 2, 4), False)], True) == want


def test_sdpa_counts_torch_fused_kernel_formula(backend):
    # torch's CPU SDPA kernel is not in its registry (it counts 0): compare with the formula
    # it applies to its CUDA kernels
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count
    q, k, v = (xpnn.randn(2, 3, 5, 4, requires_grad=True) for _ in range(3))
    with FlopCounterMode(display=False) as fc:
        xpnn.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    s = (2, 3, 5, 4)
    assert fc.get_total_flops() == sdpa_flop_count(s, s, s) + sdpa_backward_flop_count(s, s, s, s)


def test_transformer_encoder_layer(backend):
    enc_t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc_x = xpnn.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    with TorchCounter(display=False) as ft:  # its attention runs torch's uncounted CPU SDPA
        enc_t(torch.randn(2, 5, 8)).sum().backward()
    with FlopCounterMode(display=False) as fx:
        enc_x(xpnn.randn(2, 5, 8)).sum().backward()
    attn = 2 * 4 * 5 * 5 * (4 + 4) + 2 * 4 * 5 * 5 * (3 * 4 + 2 * 4)
    assert fx.get_total_flops() == ft.get_total_flops() + attn
    with xpnn.inference_mode(), FlopCounterMode(display=False) as fx:
        enc_x.eval()(xpnn.randn(2, 5, 8))
    assert fx.get_total_flops() == 2 * 10 * 8 * 24 + 2 * 10 * 8 * 8 + 2 * 2 * 10 * 8 * 16 + 1600


def test_context_reuse_table_and_tracer_restored(capsys):
    from xpnn.autograd import function_base
    model = xpnn.nn.Sequential(xpnn.nn.Linear(8, 16), xpnn.nn.Linear(16, 4))
    fc = FlopCounterMode(depth=1)
    for _ in range(2):
        with fc:
            model(xpnn.randn(5, 8))
        assert fc.get_total_flops() == 2 * 5 * 8 * 16 + 2 * 5 * 16 * 4
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Module", "FLOP", "%", "Total"]
    assert out[2].split() == ["Sequential", "1920.000", "100.00%"]
    assert "Sequential.0" not in fc.get_table(1) and " Sequential.0" in fc.get_table(2)
    with pytest.raises(ValueError), FlopCounterMode(display=False):
        raise ValueError("boom")
    assert function_base._tracer is None
    with pytest.warns(UserWarning, match="mods argument is not needed"):
        FlopCounterMode(model, display=False)


def test_custom_formulas():
    a, b = xpnn.randn(3, 4), xpnn.randn(4, 5)
    with FlopCounterMode(display=False, custom_mapping={"aten.mm": lambda x, y, out_shape:
                                                        x[0] * y[1]}) as fc:
        a @ b
    assert fc.get_flop_counts()["Global"] == {"aten.mm": 15}

    class Double(xpnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    @register_flop_formula(Double)
    def double_flop(x_shape, out_shape=None):
        return x_shape[0]
    with FlopCounterMode(display=False) as fc:
        Double.apply(a)
    assert fc.get_flop_counts()["Global"] == {Double: 3}
    with pytest.raises(RuntimeError, match="duplicate registrations"):
        register_flop_formula(Double)(double_flop)
    with pytest.raises(ValueError, match="register_flop_formula"):
        register_flop_formula("aten.relu")(double_flop)


def test_linear_gradients_unchanged_under_counter():
    x = xpnn.randn(4, 3, dtype=xpnn.float64, requires_grad=True)
    w = xpnn.randn(2, 3, dtype=xpnn.float64, requires_grad=True)
    with FlopCounterMode(display=False):
        assert xpnn.autograd.gradcheck(lambda x, w: xpnn.nn.functional.linear(x, w), (x, w))


def test_backward_counted_under_saved_tensors_hooks():
    """A node whose saved arrays go through pack/unpack hooks still counts its backward
    (the counter wraps the unpacking backward, not the class's)."""
    lin = xpnn.nn.Linear(4, 3)
    x = xpnn.randn(5, 4, requires_grad=True)
    with FlopCounterMode(display=False) as plain:
        lin(x).sum().backward()
    with FlopCounterMode(display=False) as hooked:
        with xpnn.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            y = lin(x)
        y.sum().backward()
    assert hooked.get_total_flops() == plain.get_total_flops() == 3 * 2 * 5 * 4 * 3
