"""torch.amp in xpnn: GradScaler against torch's on the PyTorch AMP recipe (scale trajectory,
skipped steps, parameters) on every backend; its errors, state and pass-through mode;
autocast's regions (full precision in xpnn, one warning) and the per-device aliases."""
import math
import pickle
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.nn.functional as F
from xpnn import nn, optim
from xpnn.amp import autocast_mode

torch = pytest.importorskip("torch")

TOL32 = 1000 * np.finfo(np.float32).eps  # 8 float32 training steps against torch's


def _models(rng):
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    tmodel.load_state_dict({k: torch.tensor(to_np(v)) for k, v in model.state_dict().items()})
    return model, tmodel


# clipping a gradient with an inf scales it by 0: NumPy warns of inf * 0 (the step is skipped)
@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_amp_recipe_matches_torch(backend, rng, opt_name):
    """scale(loss).backward(); unscale_; clip_grad_norm_; step; update -- with inf
    gradients injected at some steps: the same scales, skips and parameters as torch."""
    model, tmodel = _models(rng)
    kw = {"lr": 0.05, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.01}
    opt = getattr(optim, opt_name)(model.parameters(), **kw)
    topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **kw)
    args = dict(init_scale=2.0 ** 10, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    scaler = xpnn.amp.GradScaler("cpu", **args)
    tscaler = torch.amp.GradScaler("cpu", **args)
    inject = {1: "inf", 4: "nan", 5: "inf"}
    scales, tscales, ran, tran = [], [], [], []
    for step in range(10):
        xb = rng.normal(size=(6, 4)).astype(np.float32)
        yb = rng.normal(size=(6, 2)).astype(np.float32)
        opt.zero_grad()
        topt.zero_grad()
        loss = F.mse_loss(model(xpnn.tensor(xb)), xpnn.tensor(yb))
        tloss = torch.nn.functional.mse_loss(tmodel(torch.tensor(xb)), torch.tensor(yb))
        scaled = scaler.scale(loss)
        assert xpnn.float32 == scaled.dtype
        np.testing.assert_allclose(to_np(scaled), tscaler.scale(tloss).detach().numpy(),
                                   rtol=TOL32)
        scaled.backward()
        tscaler.scale(tloss).backward()
        if step in inject:
            model[2].bias.grad.add_(float(inject[step]))
            tmodel[2].bias.grad.add_(float(inject[step]))
        scaler.unscale_(opt)
        tscaler.unscale_(topt)
        if step not in inject:  # unscaled gradients are the true ones
            np.testing.assert_allclose(to_np(model[0].weight.grad),
                                       tmodel[0].weight.grad.numpy(), rtol=TOL32, atol=TOL32)
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 1.0)
        before = to_np(model[0].weight).copy()
        scaler.step(opt)
        tscaler.step(topt)
        ran.append(not np.array_equal(before, to_np(model[0].weight)))
        tran.append(step not in inject)
        scaler.update()
        tscaler.update()
        scales.append(scaler.get_scale())
        tscales.append(tscaler.get_scale())
    assert scales == tscales  # 1024, 512, 512, 512, 256, 128, ... exactly
    assert ran == tran
    assert scaler.state_dict() == tscaler.state_dict()
    for (name, p), (_, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
        np.testing.assert_allclose(to_np(p), tp.detach().numpy(), rtol=TOL32, atol=TOL32,
                                   err_msg=name)


class _Opt:
    """A minimal optimizer: step() returns a value, to see it passed through."""

    def __init__(self, params):
        self.param_groups = [{"params": list(params)}]
        self.steps = 0

    def step(self, *args, **kwargs):
        self.steps += 1
        return ("stepped", args, kwargs)


def test_scaler_step_return_and_errors(backend):
    w = xpnn.ones(3, requires_grad=True)
    opt = _Opt([w])
    scaler = xpnn.amp.GradScaler("cpu", init_scale=4.0)
    assert scaler.get_scale() == 4.0  # before the first scale(), the initial one
    with pytest.raises(RuntimeError, match="unscale_: no scale yet"):
        scaler.unscale_(opt)
    (scaler.scale(w * 2).sum()).backward()
    assert w.grad.tolist() == [8.0, 8.0, 8.0]
    scaler.unscale_(opt)
    assert w.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    assert scaler.step(opt, 1, lr=2) == ("stepped", (1,), {"lr": 2})
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure"):
        xpnn.amp.GradScaler("cpu").step(opt, closure=lambda: 0)
    scaler.update()
    with pytest.raises(RuntimeError, match="no inf checks were recorded prior to update"):
        scaler.update()
    w.grad = None
    w.sum().backward()
    w.grad.fill_(math.inf)
    assert scaler.step(opt) is None and opt.steps == 1  # skipped
    scaler.update()
    assert scaler.get_scale() == 2.0
    scaler.update(new_scale=64.0)
    assert scaler.get_scale() == 64.0
    scaler.update(new_scale=xpnn.tensor(32.0))
    assert scaler.get_scale() == 32.0
    with pytest.raises(ValueError, match="one-element Tensor"):
        scaler.update(new_scale=xpnn.ones(2))
    with pytest.raises(ValueError, match="growth factor must be > 1.0, got 0.5"):
        xpnn.amp.GradScaler("cpu", growth_factor=0.5)
    with pytest.raises(ValueError, match="backoff factor must be < 1.0, got 2"):
        xpnn.amp.GradScaler("cpu", backoff_factor=2)
    with pytest.raises(ValueError, match="outputs must be a Tensor"):
        scaler.scale(3.0)
    if backend.startswith("array_api_strict"):
        return  # the Array API has no float16
    half = xpnn.ones(2, dtype=xpnn.float16, requires_grad=True)
    half.grad = xpnn.ones(2, dtype=xpnn.float16)
    with pytest.raises(ValueError, match="unscale float16 gradients"):
        scaler.unscale_(_Opt([half]))


def test_scaler_containers_state_and_disabled(backend):
    scaler = xpnn.amp.GradScaler("cpu", init_scale=8.0, growth_interval=5)
    a, b = xpnn.ones(2), xpnn.full((1,), 2.0)
    out = scaler.scale([a, (b, a)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    assert out[0].tolist() == [8.0, 8.0] and out[1][0].tolist() == [16.0]
    assert [t.tolist() for t in scaler.scale(iter([b]))] == [[16.0]]
    sd = scaler.state_dict()
    tsd = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=5).state_dict()
    assert sd == tsd
    other = xpnn.amp.GradScaler("cpu")
    other.load_state_dict(dict(sd, scale=128.0, _growth_tracker=2))
    assert other.get_scale() == 128.0 and other._get_growth_tracker() == 2
    assert other.get_growth_interval() == 5
    other.set_growth_factor(4.0)
    other.set_backoff_factor(0.25)
    other.set_growth_interval(7)
    assert (other.get_growth_factor(), other.get_backoff_factor(),
            other.get_growth_interval()) == (4.0, 0.25, 7)
    assert pickle.loads(pickle.dumps(other)).get_scale() == 128.0
    off = xpnn.amp.GradScaler("cpu", enabled=False)
    assert not off.is_enabled() and off.scale(a) is a and off.get_scale() == 1.0
    assert off.state_dict() == {} and off.unscale_(_Opt([])) is None
    opt = _Opt([])
    assert off.step(opt)[0] == "stepped" and off.update() is None
    with pytest.raises(RuntimeError, match="state dict is empty"):
        other.load_state_dict({})


# -- autocast --------------------------------------------------------------------------------
def test_autocast_runs_full_precision_and_warns_once(backend, monkeypatch):
    monkeypatch.setattr(autocast_mode, "_warned", False)
    x = xpnn.ones(2, 3)
    assert not xpnn.is_autocast_enabled("cpu") and not xpnn.is_autocast_enabled()
    with pytest.warns(UserWarning, match="xpnn does not run mixed precision"):
        with xpnn.autocast("cpu") as ac:
            assert xpnn.is_autocast_enabled("cpu") and not xpnn.is_autocast_enabled("cuda")
            y = x @ x.T
            with xpnn.autocast("cpu", enabled=False):
                assert not xpnn.is_autocast_enabled("cpu")
            assert xpnn.is_autocast_enabled("cpu")
    assert ac.fast_dtype == xpnn.bfloat16 and xpnn.float32 == y.dtype
    assert not xpnn.is_autocast_enabled("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process: silent now, and when disabled
        with xpnn.autocast("cuda", dtype=xpnn.float16):
            assert xpnn.is_autocast_enabled() and xpnn.get_autocast_dtype("cuda") == "float16"
        with xpnn.amp.autocast("cuda", dtype=torch.bfloat16):
            assert xpnn.get_autocast_dtype("cuda") == xpnn.bfloat16

        @xpnn.autocast(device_type="cpu")
        def f(a):
            return xpnn.is_autocast_enabled("cpu"), a * 2
        on, out = f(x)
        assert on and xpnn.float32 == out.dtype and not xpnn.is_autocast_enabled("cpu")
    assert xpnn.get_autocast_dtype("cuda") == xpnn.float16  # the defaults, as torch's
    assert str(torch.get_autocast_dtype("cpu")).endswith(str(xpnn.get_autocast_dtype("cpu")))
    with pytest.raises(ValueError, match="device_type of type str"):
        xpnn.autocast(0)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'gpu'"):
        xpnn.autocast("gpu")
    with pytest.warns(UserWarning, match="not supported"):  # as torch: a warning, region off
        assert not xpnn.autocast("cpu", dtype=xpnn.int32)._enabled


def test_aliases(backend, monkeypatch):
    monkeypatch.setattr(autocast_mode, "_warned", True)
    from xpnn.cpu.amp import autocast as cpu_autocast
    from xpnn.cuda.amp import GradScaler, autocast
    assert xpnn.autocast is xpnn.amp.autocast
    assert xpnn.cuda.amp.GradScaler is GradScaler and xpnn.cpu.amp.autocast is cpu_autocast
    with autocast():
        assert xpnn.is_autocast_enabled("cuda")
    with cpu_autocast():
        assert xpnn.is_autocast_enabled("cpu")
    assert autocast().fast_dtype == xpnn.float16 and cpu_autocast().fast_dtype == xpnn.bfloat16
    assert GradScaler(init_scale=4.0).get_scale() == 4.0
    assert isinstance(xpnn.cpu.amp.GradScaler(), xpnn.amp.GradScaler)
    assert xpnn.amp.custom_fwd(device_type="cuda")(len) is len
    assert xpnn.cuda.amp.custom_bwd(len) is len
    assert xpnn.amp.is_autocast_available("cuda") and not xpnn.amp.is_autocast_available("x")
