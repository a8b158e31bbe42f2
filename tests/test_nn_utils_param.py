"""nn.utils' reparametrizations and friends against torch.nn.utils: parametrize
(register/remove/cached, state_dict keys, assignment through right_inverse), the
parametrizations weight_norm and spectral_norm (values, gradients on the originals, the power
iteration's buffers), the older hook-based weight_norm/spectral_norm, conv/linear + batch
norm fusion, get_total_norm / clip_grads_with_norm_ and functional_call, on every backend."""
import copy

import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import nn
from xpnn.nn.utils import parametrizations as P
from xpnn.nn.utils import parametrize, stateless

torch = pytest.importorskip("torch")
TP = torch.nn.utils.parametrizations
EPS32 = float(np.finfo(np.float32).eps)
TOL = 100 * EPS32  # float32 results through a norm, a division and a product or two


@pytest.fixture(autouse=True)
def _torch_seed():
    """torch's layers draw their initial weights (and spectral_norm its u, v) from torch's
    global generator: seeded, so each test sees the same values whatever ran before."""
    torch.manual_seed(0)


def _np(sd):
    return {k: v.detach().numpy() for k, v in sd.items()}


def _close(got, want, tol=TOL):
    """Elementwise within ``tol`` relative, or ``tol`` of the largest magnitude (gradients
    are sums of many float32 terms: their small entries carry the big ones' rounding)."""
    want = want.detach().numpy()
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(to_np(got), want, rtol=tol, atol=tol * scale)


def _input(shape, backend, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return xpnn.tensor(x, backend=backend), torch.tensor(x)


def _same_state(ours, ref):
    """Same state_dict keys (and order) and shapes; then ours takes ref's values."""
    a, b = ours.state_dict(), ref.state_dict()
    assert list(a) == list(b)
    assert [tuple(v.shape) for v in a.values()] == [tuple(v.shape) for v in b.values()]
    ours.load_state_dict(_np(b))


LAYERS = [  # (xpnn layer, torch layer, input shape)
    (lambda: nn.Linear(5, 4), lambda: torch.nn.Linear(5, 4), (3, 5)),
    (lambda: nn.Conv1d(3, 4, 3), lambda: torch.nn.Conv1d(3, 4, 3), (2, 3, 7)),
    (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
    (lambda: nn.ConvTranspose2d(3, 2, 3), lambda: torch.nn.ConvTranspose2d(3, 2, 3),
     (2, 3, 4, 4)),
]


# -- parametrizations.weight_norm ----------------------------------------------------------
@pytest.mark.parametrize("layer", range(len(LAYERS)))
@pytest.mark.parametrize("dim", [0, 1, -1, None])
def test_weight_norm_matches_torch(backend, layer, dim):
    make, make_ref, shape = LAYERS[layer]
    ours, ref = make(), make_ref()
    w0 = to_np(ours.weight)
    P.weight_norm(ours, dim=dim)
    TP.weight_norm(ref, dim=dim)
    np.testing.assert_allclose(to_np(ours.weight), w0, rtol=TOL, atol=TOL)  # w = g v/|v|
    assert type(ours).__name__ == type(ref).__name__ == "Parametrized" + type(ref).__bases__[
        0].__name__
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    _same_state(ours, ref)
    x, tx = _input(shape, backend)
    y, ty = ours(x), ref(tx)
    _close(y, ty)
    assert str(y.dtype).endswith("float32")
    y.square().sum().backward()
    ty.square().sum().backward()
    for i in range(2):
        _close(getattr(ours.parametrizations.weight, f"original{i}").grad,
               getattr(ref.parametrizations.weight, f"original{i}").grad)
    _close(ours.bias.grad, ref.bias.grad)


# -- parametrizations.spectral_norm --------------------------------------------------------
@pytest.mark.parametrize("layer", range(len(LAYERS)))
def test_spectral_norm_matches_torch(backend, layer):
    """The same weight and vectors: the same outputs and power-iteration buffers after each
    training-mode call, none in eval mode, and the same gradient (through three calls, one
    backward) on the original weight."""
    make, make_ref, shape = LAYERS[layer]
    ours, ref = make(), make_ref()
    P.spectral_norm(ours, n_power_iterations=2)
    TP.spectral_norm(ref, n_power_iterations=2)
    _same_state(ours, ref)
    x, tx = _input(shape, backend)
    loss, tloss = 0, 0
    for _ in range(3):
        y, ty = ours(x), ref(tx)
        _close(y, ty)
        loss, tloss = loss + y.square().sum(), tloss + ty.square().sum()
        for b in ("_u", "_v"):
            _close(getattr(ours.parametrizations.weight[0], b),
                   getattr(ref.parametrizations.weight[0], b))
    loss.backward()
    tloss.backward()
    _close(ours.parametrizations.weight.original.grad, ref.parametrizations.weight.original.grad)
    ours.eval()
    ref.eval()
    u = to_np(ours.parametrizations.weight[0]._u)
    _close(ours(x), ref(tx))
    np.testing.assert_array_equal(to_np(ours.parametrizations.weight[0]._u), u)


def test_spectral_norm_of_a_vector_and_bad_arguments(backend):
    ours, ref = nn.Linear(3, 4), torch.nn.Linear(3, 4)
    P.spectral_norm(ours, "bias")
    TP.spectral_norm(ref, "bias")
    _same_state(ours, ref)
    assert list(ours.state_dict()) == ["weight", "parametrizations.bias.original"]
    _close(ours.bias, ref.bias)
    with pytest.raises(ValueError, match="spectral_norm: Linear has no parameter or buffer "
                                         "named 'wieght'"):
        P.spectral_norm(nn.Linear(2, 2), "wieght")
    with pytest.raises(ValueError, match="n_power_iterations must be positive"):
        P.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        P.spectral_norm(nn.Linear(2, 2), dim=2)


# -- register_parametrization --------------------------------------------------------------
class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT


class Exp(nn.Module):
    calls = 0

    def forward(self, X):
        Exp.calls += 1
        return X.exp()

    def right_inverse(self, Y):
        return Y.log()


class TSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT


class TExp(torch.nn.Module):
    def forward(self, X):
        return X.exp()

    def right_inverse(self, Y):
        return Y.log()


def test_register_parametrization_chain_matches_torch(backend):
    ours, ref = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    ours.load_state_dict(_np(ref.state_dict()))
    weight = ours.weight
    opt = xpnn.optim.SGD(ours.parameters(), lr=0.1)
    parametrize.register_parametrization(ours, "weight", Symmetric())
    parametrize.register_parametrization(ours, "weight", Exp())
    torch.nn.utils.parametrize.register_parametrization(ref, "weight", TSymmetric())
    torch.nn.utils.parametrize.register_parametrization(ref, "weight", TExp())
    # the first registration keeps the Parameter object: the optimizer still trains it
    assert ours.parametrizations.weight.original is weight
    assert parametrize.is_parametrized(ours) and parametrize.is_parametrized(ours, "weight")
    assert not parametrize.is_parametrized(ours, "bias")
    assert parametrize.type_before_parametrizations(ours) is nn.Linear
    assert repr(ours).replace("Exp", "TExp").replace("Symmetric", "TSymmetric") == repr(ref)
    _same_state(ours, ref)
    _close(ours.weight, ref.weight)
    x, tx = _input((2, 3), backend)
    ours(x).sum().backward()
    ref(tx).sum().backward()
    _close(weight.grad, ref.parametrizations.weight.original.grad)
    opt.step()
    assert not np.allclose(to_np(weight), ref.parametrizations.weight.original.detach())
    # assignment runs right_inverse in reverse order: log, then Symmetric has none
    with pytest.raises(RuntimeError, match="Symmetric does not implement right_inverse"):
        ours.weight = xpnn.ones(3, 3)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        ours.weight = nn.Parameter(xpnn.ones(3, 3))


def test_assignment_and_removal(backend):
    ours, ref = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours.load_state_dict(_np(ref.state_dict()))
    parametrize.register_parametrization(ours, "weight", Exp())
    torch.nn.utils.parametrize.register_parametrization(ref, "weight", TExp())
    value = np.abs(np.random.default_rng(1).standard_normal((2, 3))).astype(np.float32) + 0.5
    ours.weight = xpnn.tensor(value)
    with torch.no_grad():
        ref.weight = torch.tensor(value)
    _close(ours.parametrizations.weight.original, ref.parametrizations.weight.original)
    np.testing.assert_allclose(to_np(ours.weight), value, rtol=TOL)
    # leave_parametrized=True: the original Parameter now holds exp(original)
    kept = ours.parametrizations.weight.original
    parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(ref, "weight")
    assert type(ours) is nn.Linear and "parametrizations" not in ours._modules
    assert ours.weight is kept and isinstance(ours.weight, nn.Parameter)
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    _close(ours.weight, ref.weight)
    # leave_parametrized=False: the original comes back
    parametrize.register_parametrization(ours, "weight", Exp())
    before = to_np(ours.parametrizations.weight.original)
    parametrize.remove_parametrizations(ours, "weight", leave_parametrized=False)
    np.testing.assert_array_equal(to_np(ours.weight), before)
    # a weight made of two tensors can only be left parametrized
    P.weight_norm(ours)
    with pytest.raises(ValueError, match="cannot leave unparametrized"):
        parametrize.remove_parametrizations(ours, "weight", leave_parametrized=False)
    w = to_np(ours.weight)
    parametrize.remove_parametrizations(ours, "weight")
    np.testing.assert_allclose(to_np(ours.weight), w, rtol=TOL)
    assert [n for n, _ in ours.named_parameters()] == ["bias", "weight"]


def test_parametrizing_a_buffer_and_bad_input(backend):
    m = nn.BatchNorm1d(3)
    parametrize.register_parametrization(m, "running_var", Exp())
    assert "parametrizations.running_var.original" in m.state_dict()
    assert [n for n, _ in m.named_buffers()][-1] == "parametrizations.running_var.original"
    # right_inverse stored log(1) = 0; the buffer reads exp(0)
    np.testing.assert_array_equal(to_np(m.parametrizations.running_var.original), 0.0)
    np.testing.assert_allclose(to_np(m.running_var), 1.0, rtol=TOL)
    with pytest.raises(ValueError, match="register_parametrization: Linear has no "
                                         "parameter, buffer or parametrized tensor named 'w'"):
        parametrize.register_parametrization(nn.Linear(2, 2), "w", Exp())
    with pytest.raises(TypeError, match="parametrization must be a Module, got function"):
        parametrize.register_parametrization(nn.Linear(2, 2), "weight", lambda w: w)

    class Flat(nn.Module):
        def forward(self, X):
            return X.reshape(-1)
    with pytest.raises(ValueError, match=r"may not change the shape .*\(2, 3\) before, "
                                         r"\(6,\) after"):
        parametrize.register_parametrization(nn.Linear(3, 2), "weight", Flat())
    m = parametrize.register_parametrization(nn.Linear(3, 2), "weight", Flat(), unsafe=True)
    assert tuple(m.weight.shape) == (6,)
    with pytest.raises(ValueError, match="Linear has no parametrization on 'bias'"):
        parametrize.remove_parametrizations(m, "bias")


def test_cached_computes_once(backend):
    m = nn.Linear(3, 3)
    parametrize.register_parametrization(m, "weight", Exp())
    Exp.calls = 0
    m.weight, m.weight
    assert Exp.calls == 2
    with parametrize.cached():
        a = m.weight
        with parametrize.cached():
            assert m.weight is a
        assert m.weight is a
    assert Exp.calls == 3
    m.weight
    assert Exp.calls == 4


def test_deepcopy_is_independent(backend):
    m = nn.Linear(3, 2)
    P.weight_norm(m)
    c = copy.deepcopy(m)
    parametrize.remove_parametrizations(c, "weight")
    assert type(c) is nn.Linear and parametrize.is_parametrized(m, "weight")
    np.testing.assert_allclose(to_np(m.weight), to_np(c.weight), rtol=TOL)


def test_state_dict_round_trips_through_save_and_load(backend, tmp_path):
    """A parametrized model's state_dict saved and loaded into a fresh one gives the same
    outputs (weight_norm's g/v; spectral_norm's weight and power-iteration vectors)."""
    def build():
        m = nn.Sequential(nn.Conv1d(2, 3, 3), nn.ReLU(), nn.Conv1d(3, 2, 3))
        P.weight_norm(m[0])
        P.spectral_norm(m[2])
        return m
    a = build()
    x, _ = _input((2, 2, 8), backend)
    a(x)  # move the power iteration on
    path = xpnn.save(a.state_dict(), tmp_path / "w.safetensors")
    xpnn.manual_seed(5)
    b = build()
    b.load_state_dict(xpnn.load(path))
    ref = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.ReLU(),
                              torch.nn.Conv1d(3, 2, 3))
    TP.weight_norm(ref[0])
    TP.spectral_norm(ref[2])
    assert list(b.state_dict()) == list(a.state_dict()) == list(ref.state_dict())
    a.eval()
    b.eval()
    np.testing.assert_array_equal(to_np(a(x)), to_np(b(x)))


# -- the older hook-based weight_norm / spectral_norm --------------------------------------
@pytest.mark.parametrize("dim", [0, 1, None])
def test_hook_weight_norm_matches_torch(backend, dim):
    ours, ref = nn.Conv1d(3, 4, 3), torch.nn.Conv1d(3, 4, 3)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        nn.utils.weight_norm(ours, dim=dim)
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(ref, dim=dim)
    assert list(ours.state_dict()) == ["bias", "weight_g", "weight_v"]
    _same_state(ours, ref)
    x, tx = _input((2, 3, 6), backend)
    y, ty = ours(x), ref(tx)
    _close(y, ty)
    y.square().sum().backward()
    ty.square().sum().backward()
    _close(ours.weight_g.grad, ref.weight_g.grad)
    _close(ours.weight_v.grad, ref.weight_v.grad)
    with pytest.raises(RuntimeError, match="cannot register two weight_norm hooks"), \
            pytest.warns(FutureWarning):
        nn.utils.weight_norm(ours, dim=dim)
    nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(ref)
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    _close(ours.weight, ref.weight)
    assert not ours._forward_pre_hooks and not ours._hook_flags
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in Conv1d"):
        nn.utils.remove_weight_norm(ours)


@pytest.mark.parametrize("transposed", [False, True])
def test_hook_spectral_norm_matches_torch(backend, transposed):
    if transposed:
        ours, ref = nn.ConvTranspose2d(3, 2, 3), torch.nn.ConvTranspose2d(3, 2, 3)
    else:
        ours, ref = nn.Conv2d(3, 2, 3), torch.nn.Conv2d(3, 2, 3)
    nn.utils.spectral_norm(ours)
    torch.nn.utils.spectral_norm(ref)
    assert list(ours.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert tuple(ours.weight_u.shape) == tuple(ref.weight_u.shape)
    _same_state(ours, ref)
    x, tx = _input((2, 3, 5, 5), backend)
    loss, tloss = 0, 0
    for _ in range(3):
        y, ty = ours(x), ref(tx)
        _close(y, ty)
        loss, tloss = loss + y.square().sum(), tloss + ty.square().sum()
        _close(ours.weight_u, ref.weight_u)
        _close(ours.weight_v, ref.weight_v)
    loss.backward()
    tloss.backward()
    _close(ours.weight_orig.grad, ref.weight_orig.grad)
    ours.eval()
    ref.eval()
    _close(ours(x), ref(tx))
    nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(ref)
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    _close(ours.weight, ref.weight)


# -- fusion --------------------------------------------------------------------------------
def _bn_pair(n, rng):
    ours, ref = nn.BatchNorm2d(n), torch.nn.BatchNorm2d(n)
    sd = {"weight": rng.standard_normal(n), "bias": rng.standard_normal(n),
          "running_mean": rng.standard_normal(n), "running_var": rng.uniform(0.5, 2, n),
          "num_batches_tracked": np.array(3)}
    sd = {k: v.astype(np.float32) if k != "num_batches_tracked" else v for k, v in sd.items()}
    ref.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    ours.load_state_dict(sd)
    return ours.eval(), ref.eval()


@pytest.mark.parametrize("transposed", [False, True])
def test_fuse_conv_bn_eval_matches_torch(backend, rng, transposed):
    cls, tcls = (nn.ConvTranspose2d, torch.nn.ConvTranspose2d) if transposed else \
        (nn.Conv2d, torch.nn.Conv2d)
    conv, tconv = cls(3, 4, 3, bias=transposed), tcls(3, 4, 3, bias=transposed)
    conv.load_state_dict(_np(tconv.state_dict()))
    bn, tbn = _bn_pair(4, rng)
    with pytest.raises(AssertionError, match="fuse_conv_bn_eval: Fusion only for eval"):
        nn.utils.fuse_conv_bn_eval(conv, bn, transposed)
    conv.eval()
    tconv.eval()
    fused = nn.utils.fuse_conv_bn_eval(conv, bn, transposed)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transposed)
    assert fused is not conv and isinstance(fused.weight, nn.Parameter)
    assert fused.bias.requires_grad == tfused.bias.requires_grad
    _close(fused.weight, tfused.weight)
    _close(fused.bias, tfused.bias)
    x, tx = _input((2, 3, 5, 5), backend)
    _close(fused(x), tbn(tconv(tx)))
    _close(bn(conv(x)), tfused(tx))  # the originals are unchanged


def test_fuse_linear_bn_eval_matches_torch(backend, rng):
    lin, tlin = nn.Linear(3, 4).eval(), torch.nn.Linear(3, 4).eval()
    lin.load_state_dict(_np(tlin.state_dict()))
    ours, ref = nn.BatchNorm1d(4).eval(), torch.nn.BatchNorm1d(4).eval()
    sd = {"weight": rng.standard_normal(4), "bias": rng.standard_normal(4),
          "running_mean": rng.standard_normal(4), "running_var": rng.uniform(0.5, 2, 4)}
    sd = {k: v.astype(np.float32) for k, v in sd.items()}
    ours.load_state_dict(sd, strict=False)
    ref.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    fused = nn.utils.fuse_linear_bn_eval(lin, ours)
    tfused = torch.nn.utils.fuse_linear_bn_eval(tlin, ref)
    _close(fused.weight, tfused.weight)
    _close(fused.bias, tfused.bias)
    x, tx = _input((5, 3), backend)
    _close(fused(x), ref(tlin(tx)))
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(lin, nn.BatchNorm1d(3).eval())


# -- get_total_norm / clip_grads_with_norm_ -------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
def test_total_norm_and_clip_match_torch(backend, norm_type):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,), ()]]
    params = [xpnn.zeros(g.shape, requires_grad=True) for g in grads]
    tparams = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, tp, g in zip(params, tparams, grads):
        p.grad, tp.grad = xpnn.tensor(g), torch.tensor(g)
    total = nn.utils.get_total_norm([p.grad for p in params], norm_type)
    ttotal = torch.nn.utils.get_total_norm([p.grad for p in tparams], norm_type)
    _close(total, ttotal)
    assert total.shape == () and str(total.dtype).endswith("float32")
    nn.utils.clip_grads_with_norm_(params, 1.5, total)
    torch.nn.utils.clip_grads_with_norm_(tparams, 1.5, ttotal)
    for p, tp in zip(params, tparams):
        _close(p.grad, tp.grad)
    assert float(nn.utils.get_total_norm([])) == 0.0
    with pytest.raises(RuntimeError, match="get_total_norm: the total norm of order"):
        nn.utils.get_total_norm([xpnn.tensor([np.inf])], error_if_nonfinite=True)
    with pytest.raises(TypeError, match=r"get_total_norm: tensors\[0\] is a list"):
        nn.utils.get_total_norm([[1.0]])


# -- functional_call -----------------------------------------------------------------------
class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)
        self.b.weight = self.a.weight
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        return self.b(self.a(x)) + self.bn(x)


class TTied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
        self.b.weight = self.a.weight
        self.bn = torch.nn.BatchNorm1d(3)

    def forward(self, x):
        return self.b(self.a(x)) + self.bn(x)


@pytest.mark.parametrize("tie_weights", [True, False])
def test_functional_call_matches_torch(backend, tie_weights):
    ours, ref = Tied(), TTied()
    ours.load_state_dict(_np(ref.state_dict()))
    rng = np.random.default_rng(4)
    w, b = rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal(3)
    rm = np.zeros(3, np.float32)
    given = {"a.weight": xpnn.tensor(w, requires_grad=True),
             "b.bias": xpnn.tensor(b.astype(np.float32), requires_grad=True),
             "bn.running_mean": xpnn.tensor(rm)}
    tgiven = {"a.weight": torch.tensor(w, requires_grad=True),
              "b.bias": torch.tensor(b.astype(np.float32), requires_grad=True),
              "bn.running_mean": torch.tensor(rm)}
    before = _np(ref.state_dict())
    x, tx = _input((4, 3), backend)
    y = stateless.functional_call(ours, given, x, tie_weights=tie_weights)
    ty = torch.func.functional_call(ref, tgiven, (tx,), tie_weights=tie_weights)
    _close(y, ty)
    y.square().sum().backward()
    ty.square().sum().backward()
    for k in ("a.weight", "b.bias"):
        _close(given[k].grad, tgiven[k].grad)
    _close(given["bn.running_mean"], tgiven["bn.running_mean"])  # updated in training mode
    assert ours.b.bias.grad is None
    if tie_weights:
        assert ours.a.weight.grad is None
    else:  # b used the module's own (tied) weight
        _close(ours.a.weight.grad, ref.a.weight.grad)
    # the module's own tensors are back: unchanged where given, running_var and the batch
    # count (not given) updated, as in PyTorch
    np.testing.assert_array_equal(to_np(ours.a.weight), before["a.weight"])
    np.testing.assert_array_equal(to_np(ours.bn.running_mean), before["bn.running_mean"])
    for k, v in ours.state_dict().items():
        np.testing.assert_allclose(to_np(v), ref.state_dict()[k].numpy(), rtol=TOL)
    with pytest.raises(ValueError, match="which are tied"):
        stateless.functional_call(ours, {"a.weight": xpnn.zeros(3, 3),
                                         "b.weight": xpnn.ones(3, 3)}, x)
    with pytest.raises(RuntimeError, match="Error\\(s\\) in reparametrizing for Tied:\n\t"
                                           "Missing key\\(s\\): 'a.bias'"):
        stateless.functional_call(ours, given, x, strict=True)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        stateless.functional_call(ours, ({"a.bias": xpnn.zeros(3)},
                                         {"a.bias": xpnn.zeros(3)}), x)
    assert ours.a.weight is ours.b.weight and ours.a.weight is ours._modules["a"].weight


def test_skip_init_leaves_the_init_stream_alone(backend):
    xpnn.manual_seed(0)
    m = nn.utils.skip_init(nn.Linear, 4, out_features=3)
    after = nn.Linear(4, 3)
    xpnn.manual_seed(0)
    alone = nn.Linear(4, 3)
    assert tuple(m.weight.shape) == (3, 4) and m.weight.requires_grad
    np.testing.assert_array_equal(to_np(after.weight), to_np(alone.weight))
    with pytest.raises(RuntimeError, match="skip_init: expected a Module class"):
        nn.utils.skip_init(torch.nn.Linear, 2, 2)
    with pytest.raises(RuntimeError, match="ReLU must support a 'device' arg"):
        nn.utils.skip_init(nn.ReLU)


def test_gradcheck_float64(host_backend):
    """Finite differences in float64 through the parametrized weights, fed through
    functional_call: weight_norm's g and v, spectral_norm's weight (eval mode: fixed u, v),
    and the hook-based spectral norm's."""
    wn = P.weight_norm(nn.Conv1d(2, 3, 3).double(), dim=1)
    sn = P.spectral_norm(nn.Linear(4, 3).double()).eval()
    old = nn.utils.spectral_norm(nn.Linear(4, 3).double()).eval()
    x = xpnn.tensor(np.random.default_rng(5).standard_normal((2, 2, 5)), dtype=xpnn.float64)
    x2 = xpnn.tensor(np.random.default_rng(6).standard_normal((2, 4)), dtype=xpnn.float64)

    def leaf(t):
        return t.detach().clone().requires_grad_(True)
    g, v = (leaf(getattr(wn.parametrizations.weight, f"original{i}")) for i in range(2))
    assert xpnn.gradcheck(lambda g, v: stateless.functional_call(
        wn, {"parametrizations.weight.original0": g,
             "parametrizations.weight.original1": v}, x), g, v)
    w = leaf(sn.parametrizations.weight.original)
    assert xpnn.gradcheck(lambda w: stateless.functional_call(
        sn, {"parametrizations.weight.original": w}, x2), w)
    w = leaf(old.weight_orig)
    assert xpnn.gradcheck(lambda w: stateless.functional_call(old, {"weight_orig": w}, x2), w)
