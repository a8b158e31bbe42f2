"""xpnn.optim: optimizers against torch.optim step by step, across backends, state dicts,
learning-rate schedules against torch.optim.lr_scheduler, gradient clipping, validation."""
import json
import math

import numpy as np
import pytest

import xpnn
from conftest import to_np
from xpnn import backend as B
from xpnn import nn, optim

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
# against torch.optim: the same formulas with the bias corrections and lerps grouped
# differently, through 5 steps on O(1) values -> tens of ulps
TOL = {"float32": 64 * EPS32, "float64": 64 * EPS64}
# xpnn on one backend against xpnn on NumPy: the same IEEE ops in the same order
BACKEND_TOL = 4 * EPS32
# learning rates are Python floats on both sides: only the order of a few ops differs
LR_REL = 1e-12

SHAPES = [(3, 4), (5,), (2, 1, 3)]
STEPS = 5

OPT_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=1e-2, eps=1e-3, maximize=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, alpha=0.9, momentum=0.5)),
    ("RMSprop", dict(lr=1e-2, centered=True)),
    ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.9, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.01, initial_accumulator_value=0.5)),
]
OPT_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in OPT_CASES]


def host_problem(dtype, steps=STEPS):
    """Seeded initial params and a gradient per step; param 1 has no grad at step 2."""
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    grads[2][1] = None
    return params, grads


def make_xpnn(name, kw, params, backend, dtype):
    # copies: on NumPy, xpnn.tensor wraps the host array itself, and steps are in place
    ps = [nn.Parameter(xpnn.tensor(p.copy(), backend=backend, dtype=dtype)) for p in params]
    return ps, getattr(optim, name)(ps, **kw)


def run_xpnn(ps, opt, grads):
    for step_grads in grads:
        for p, g in zip(ps, step_grads):
            p.grad = None if g is None else p._be.asarray(g)
        opt.step()


def run_torch(torch, name, kw, params, grads):
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    opt = getattr(torch.optim, name)(ts, **kw)
    for step_grads in grads:
        for t, g in zip(ts, step_grads):
            t.grad = None if g is None else torch.tensor(g)
        opt.step()
    return ts, opt


def assert_close(actual, expected, tol, what):
    actual, expected = to_np(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", OPT_CASES, ids=OPT_IDS)
def test_optimizer_matches_torch(name, kw, dtype, backend):
    """N steps of every optimizer equal torch.optim's: parameters, every state slot, dtypes,
    and the parameters are updated in place (the same array object afterwards)."""
    torch = pytest.importorskip("torch")
    params, grads = host_problem(dtype)
    ps, opt = make_xpnn(name, kw, params, backend, dtype)
    before = [p.array for p in ps]
    run_xpnn(ps, opt, grads)
    ts, topt = run_torch(torch, name, kw, params, grads)
    for i, (p, t) in enumerate(zip(ps, ts)):
        assert p.array is before[i], "parameters must be updated in place"
        assert str(p.dtype).endswith(dtype)
        assert_close(p.array, t.detach().numpy(), TOL[dtype], f"param {i}")
        ours, theirs = opt.state[p], topt.state[t]
        assert set(ours) == set(theirs), f"slots of param {i}"
        for slot, ref in theirs.items():
            assert isinstance(ours[slot], xpnn.Tensor), f"{slot} of param {i}"
            if slot == "step":  # as torch's: a 0-d float32 Tensor (whatever the params)
                assert ours[slot].shape == () and ours[slot].item() == ref.item()
                assert str(ours[slot].dtype).endswith("float32")
            else:
                assert str(ours[slot].dtype).endswith(dtype)
                assert_close(ours[slot], ref.numpy(), TOL[dtype], f"{slot} of param {i}")


@pytest.mark.parametrize("name,kw", OPT_CASES, ids=OPT_IDS)
def test_trajectory_agrees_across_backends(name, kw, backend):
    """float32 trajectories on every backend equal NumPy's to a few ulps."""
    params, grads = host_problem("float32")
    ref, ref_opt = make_xpnn(name, kw, params, "numpy", "float32")
    run_xpnn(ref, ref_opt, grads)
    ps, opt = make_xpnn(name, kw, params, backend, "float32")
    run_xpnn(ps, opt, grads)
    for i, (p, r) in enumerate(zip(ps, ref)):
        assert_close(p.array, r.array, BACKEND_TOL, f"param {i}")


@pytest.mark.parametrize("name,kw", OPT_CASES, ids=OPT_IDS)
def test_state_dict_round_trip_resumes_identically(name, kw, backend):
    """Saved after 2 steps on NumPy, loaded on this backend (via JSON-able lists for the
    groups), the optimizer continues exactly as the original."""
    params, grads = host_problem("float32")
    ref, ref_opt = make_xpnn(name, kw, params, "numpy", "float32")
    run_xpnn(ref, ref_opt, grads[:2])
    sd = ref_opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1, 2]]
    sd["param_groups"] = json.loads(json.dumps(sd["param_groups"]))
    ps, opt = make_xpnn(name, dict(kw, lr=123.0), [to_np(p.array) for p in ref], backend,
                        "float32")
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == kw["lr"] and opt.param_groups[0]["params"] == ps
    for p, r in zip(ps, ref):  # loaded slots are copies on this backend, not the originals
        for slot, value in opt.state[p].items():
            assert isinstance(value, xpnn.Tensor)
            assert value is not ref_opt.state[r][slot]
            assert value.array is not ref_opt.state[r][slot].array
            # 0-d counts (step) stay in host memory, as PyTorch's CPU step
            home = p._be if p._be.on_host else B.get_backend("numpy")
            assert value._be is (home if slot in opt._count_slots else p._be)
    run_xpnn(ref, ref_opt, grads[2:])
    run_xpnn(ps, opt, grads[2:])
    for i, (p, r) in enumerate(zip(ps, ref)):
        assert_close(p.array, r.array, BACKEND_TOL, f"param {i}")


def test_loads_a_torch_optim_state_dict():
    """A torch.optim.Adam state dict (tensor slots, a tensor step, torch's extra group keys)
    loads into xpnn's Adam, which then continues on torch's trajectory."""
    torch = pytest.importorskip("torch")
    params, grads = host_problem("float32")
    kw = dict(lr=1e-2, amsgrad=True)
    ts, topt = run_torch(torch, "Adam", kw, params, grads[:2])
    ps, opt = make_xpnn("Adam", kw, [t.detach().numpy() for t in ts], "numpy", "float32")
    opt.load_state_dict(topt.state_dict())
    run_xpnn(ps, opt, grads[2:])
    for step_grads in grads[2:]:
        for t, g in zip(ts, step_grads):
            t.grad = None if g is None else torch.tensor(g)
        topt.step()
    for i, (p, t) in enumerate(zip(ps, ts)):
        assert_close(p.array, t.detach().numpy(), TOL["float32"], f"param {i}")


def test_load_state_dict_validates_before_touching(rng):
    params, grads = host_problem("float32")
    ps, opt = make_xpnn("Adam", dict(lr=1e-2), params, "numpy", "float32")
    run_xpnn(ps, opt, grads[:1])
    good = opt.state_dict()
    kept_state, kept_lr = dict(opt.state), opt.param_groups[0]["lr"]

    def variant(**changes):
        sd = {"state": {k: dict(v) for k, v in good["state"].items()},
              "param_groups": [dict(g, lr=0.5) for g in good["param_groups"]]}
        for key, value in changes.items():
            if key == "state":
                sd["state"] = value(sd["state"])
            else:
                sd["param_groups"] = value(sd["param_groups"])
        return sd

    two_groups = variant(groups=lambda gs: [dict(gs[0], params=[0]), dict(gs[0], params=[1])])
    with pytest.raises(ValueError, match="2 param groups.*this optimizer has 1"):
        opt.load_state_dict(two_groups)
    with pytest.raises(ValueError, match="param group 0 has 2 params.*but 3"):
        opt.load_state_dict(variant(groups=lambda gs: [dict(gs[0], params=[0, 1])]))
    bad_shape = variant(state=lambda s: {**s, 1: dict(s[1], exp_avg=np.zeros((4,), "f4"))})
    with pytest.raises(ValueError, match=r"slot 'exp_avg' of param 1 has shape \(4,\).*xpnn.Size\(\[5\]\)"):
        opt.load_state_dict(bad_shape)
    with pytest.raises(ValueError, match="state for param 7"):
        opt.load_state_dict(variant(state=lambda s: {**s, 7: s[0]}))
    with pytest.raises(ValueError, match="betas"):
        opt.load_state_dict(variant(groups=lambda gs: [dict(gs[0], betas=(1.5, 0.9))]))
    with pytest.raises(ValueError, match="expected a dict"):
        opt.load_state_dict([1, 2])
    assert opt.state == kept_state and opt.param_groups[0]["lr"] == kept_lr


def test_step_skips_missing_grads_zero_grad_and_closure():
    params, _ = host_problem("float32")
    ps, opt = make_xpnn("Adam", dict(lr=0.1), params, "numpy", "float32")
    ps[0].grad = np.ones(SHAPES[0], np.float32)
    assert opt.step(closure=lambda: 3.5) == 3.5
    assert ps[0] in opt.state and ps[1] not in opt.state
    np.testing.assert_array_equal(ps[1].array, params[1])
    opt.zero_grad()
    assert all(p.grad is None for p in ps)
    ps[0].grad = np.ones(SHAPES[0], np.float32)
    opt.zero_grad(set_to_none=False)
    assert not np.any(ps[0].grad.numpy()) and ps[1].grad is None


def test_no_float64_from_numpy_hyperparameters():
    """NumPy float64 scalars as hyperparameters (or set by hand) must not upcast float32."""
    params, grads = host_problem("float32")
    for name, kw in OPT_CASES:
        kw = {k: (np.float64(v) if isinstance(v, float) else v) for k, v in kw.items()}
        ps, opt = make_xpnn(name, kw, params, "numpy", "float32")
        opt.param_groups[0]["lr"] = np.float64(0.01)
        run_xpnn(ps, opt, grads)
        for p in ps:
            assert p.dtype == np.float32, name
            assert all(v.dtype == np.float32 for v in opt.state[p].values()
                       if hasattr(v, "dtype")), name


def test_param_groups_and_a_training_loop(backend):
    """Per-group hyperparameters apply, and Adam fits a small linear regression."""
    xpnn.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = optim.Adam([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.0}],
                     lr=0.05)
    assert opt.param_groups[1]["lr"] == 0.0 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
    X, Y = xpnn.tensor(x, backend=backend), xpnn.tensor(y, backend=backend)
    bias0, losses = model.bias.numpy(), []
    for _ in range(200):
        loss = xpnn.functional.mse_loss(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    np.testing.assert_array_equal(model.bias.numpy(), bias0)  # lr 0 for the bias group
    assert losses[-1] < 0.01 * losses[0]


BAD_HYPER = [
    (lambda p: optim.SGD(p, lr=-0.1), "SGD: lr must be a number in .* got -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    (lambda p: optim.SGD(p, momentum=-1), "momentum must be .* got -1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\] must be .* got 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\] .* got -0.1"),
    (lambda p: optim.Adam(p, betas=(0.9,)), r"betas must be a pair .* got \(0.9,\)"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps .* got -1e-08"),
    (lambda p: optim.Adam(p, lr=float("nan")), "lr .* got nan"),
    (lambda p: optim.Adam(p, lr="fast"), "lr .* got 'fast'"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "AdamW: weight_decay .* got -0.01"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "RMSprop: alpha .* got -0.5"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: lr_decay .* got -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.Adam([{"params": p, "lr": -2.0}]), "lr .* got -2.0"),
    (lambda p: optim.Adam([]), "empty parameter list"),
    (lambda p: optim.Adam(p + p), "more than once"),
]


@pytest.mark.parametrize("make,match", BAD_HYPER, ids=[m for _, m in BAD_HYPER])
def test_hyperparameter_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make([nn.Parameter(xpnn.tensor(np.zeros(3, np.float32)))])


def test_params_type_errors():
    p = nn.Parameter(xpnn.tensor(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="single Parameter"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray"):
        optim.SGD([p, np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="only floating"):
        optim.SGD([xpnn.tensor(np.zeros(3, np.int64))], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [p]})


# -- gradient clipping -------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, backend):
    torch = pytest.importorskip("torch")
    params, grads = host_problem("float32")
    ps = [nn.Parameter(xpnn.tensor(p, backend=backend)) for p in params]
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    for p, t, g in zip(ps, ts, grads[2]):  # param 1 has no gradient: skipped
        p.grad = None if g is None else p._be.asarray(g)
        t.grad = None if g is None else torch.tensor(g)
    total = optim.clip_grad_norm_(ps, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type)
    assert xpnn.backend.backend_of(total) is ps[0]._be
    assert tuple(total.shape) == () and str(total.dtype).endswith("float32")
    assert_close(total, ref.numpy(), 16 * EPS32, "total norm")
    for i, (p, t) in enumerate(zip(ps, ts)):
        if t.grad is None:
            assert p.grad is None
        else:
            assert_close(p.grad, t.grad.numpy(), 16 * EPS32, f"grad {i}")


def test_clip_grad_norm_shared_and_readonly_grads_nonfinite():
    """A gradient array shared by two leaves is scaled in place once per leaf holding it
    (PyTorch's foreach multiply of ``a.grad = b.grad = t``: 3 * coef ** 2), a read-only
    broadcast gradient is fine, and a non-finite norm raises only when asked."""
    a, b = (nn.Parameter(xpnn.tensor(np.zeros(4, np.float32))) for _ in range(2))
    shared = np.full(4, 3.0, np.float32)
    a.grad = b.grad = shared
    total = optim.clip_grad_norm_([a, b], 1.0)
    np.testing.assert_allclose(total, np.sqrt(72.0), rtol=4 * EPS32)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())
    np.testing.assert_allclose(shared, 3.0 / (np.sqrt(72.0) + 1e-6) ** 2, rtol=1e-5)
    a.grad = np.broadcast_to(np.float32(2.0), (4,))
    assert nn.utils.clip_grad_norm_ is optim.clip_grad_norm_
    nn.utils.clip_grad_norm_(a, 1.0)
    np.testing.assert_allclose(a.grad, 0.5, rtol=1e-5)
    a.grad = np.array([1.0, np.nan, 0.0, 0.0], np.float32)
    with pytest.raises(RuntimeError, match="total norm .* is nan"):
        optim.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    assert math.isnan(float(optim.clip_grad_norm_([a], 1.0)))
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm_([a], -1.0)


def test_clip_grad_value_matches_torch(backend):
    torch = pytest.importorskip("torch")
    params, grads = host_problem("float32")
    ps = [nn.Parameter(xpnn.tensor(p, backend=backend)) for p in params]
    for p, g in zip(ps, grads[0]):
        p.grad = p._be.asarray(g)
    assert optim.clip_grad_value_(ps, 0.7) is None
    for p, g in zip(ps, grads[0]):
        assert_close(p.grad, torch.clamp(torch.tensor(g), -0.7, 0.7).numpy(), 0.0, "grad")
    with pytest.raises(ValueError, match="clip_value must be >= 0, got -1.0"):
        optim.clip_grad_value_(ps, -1)



# -- learning-rate schedules ---------------------------------------------------------------
def two_group_optimizers(torch, name="SGD", lrs=(0.1, 0.02)):
    """The same two-group optimizer in torch and in xpnn (the schedules only read lrs)."""
    kw = dict(momentum=0.9) if name == "SGD" else {}
    tgroups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    xgroups = [{"params": [nn.Parameter(xpnn.tensor(np.zeros(2, np.float32)))], "lr": lr}
               for lr in lrs]
    return getattr(torch.optim, name)(tgroups, **kw), getattr(optim, name)(xgroups, **kw)


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


SCHEDULES = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[12, 3, 7, 7], gamma=0.3),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.9),
    "Cosine-restart": lambda L, o: L.CosineAnnealingLR(o, T_max=8, eta_min=1e-3),
    "Cosine": lambda L, o: L.CosineAnnealingLR(o, T_max=30),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8),
    "LinearLR-default": lambda L, o: L.LinearLR(o),
    "OneCycle": lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=31),
    "OneCycle-linear-3phase": lambda L, o: L.OneCycleLR(
        o, max_lr=0.8, epochs=3, steps_per_epoch=11, pct_start=0.25, anneal_strategy="linear",
        three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "Sequential": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=25)],
        milestones=[5]),
    "Sequential-3": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.5, total_iters=4), L.ExponentialLR(o, gamma=0.9),
            L.StepLR(o, step_size=3, gamma=0.5)], milestones=[4, 12]),
}


def step_both(tsched, topt, xsched, xopt, n=30):
    out = []
    for _ in range(n):
        topt.step()  # torch warns unless the optimizer steps before the schedule
        tsched.step()
        xopt.step()
        xsched.step()
        assert xsched.get_last_lr() == [g["lr"] for g in xopt.param_groups]
        out.append((tsched.get_last_lr(), xsched.get_last_lr(), momenta(topt), momenta(xopt)))
    return out


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("key", list(SCHEDULES))
def test_schedule_matches_torch(key, opt_name):
    """30 steps of every schedule set the same rates (and OneCycle the same momenta)."""
    torch = pytest.importorskip("torch")
    topt, xopt = two_group_optimizers(torch, opt_name)
    tsched = SCHEDULES[key](torch.optim.lr_scheduler, topt)
    xsched = SCHEDULES[key](optim.lr_scheduler, xopt)
    assert xsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=LR_REL)
    for t_lr, x_lr, t_mom, x_mom in step_both(tsched, topt, xsched, xopt):
        assert x_lr == pytest.approx(t_lr, rel=LR_REL)
        assert x_mom == pytest.approx(t_mom, rel=LR_REL)


def test_linear_warmup_and_warmup_cosine_match_torch():
    torch = pytest.importorskip("torch")
    L = torch.optim.lr_scheduler
    topt, xopt = two_group_optimizers(torch)
    pairs = [(L.LinearLR(topt, start_factor=0.1, total_iters=6),
              optim.LinearWarmup(xopt, warmup_steps=6, start_factor=0.1))]
    topt2, xopt2 = two_group_optimizers(torch)
    pairs.append((L.SequentialLR(topt2, [L.LinearLR(topt2, 0.1, total_iters=5),
                                         L.CosineAnnealingLR(topt2, T_max=25, eta_min=1e-4)],
                                 milestones=[5]),
                  optim.warmup_cosine(xopt2, 5, 30, start_factor=0.1, eta_min=1e-4)))
    for (tsched, xsched), (to, xo) in zip(pairs, [(topt, xopt), (topt2, xopt2)]):
        for t_lr, x_lr, _, _ in step_both(tsched, to, xsched, xo):
            assert x_lr == pytest.approx(t_lr, rel=LR_REL)


METRICS = [1.0, 0.9, 0.95, 0.95, 0.9, 0.899, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84, 0.7, 0.7,
           0.71, 0.69, 0.72, 0.73, 0.74, 0.75, 0.5, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56,
           0.57, 0.58]
PLATEAUS = [
    dict(),
    dict(patience=2, factor=0.5, cooldown=1, threshold=0.01),
    dict(mode="max", threshold_mode="abs", threshold=0.02, patience=1, min_lr=[0.01, 0.001]),
    dict(patience=0, factor=0.5, min_lr=0.04, eps=1e-3),
]


@pytest.mark.parametrize("kw", PLATEAUS, ids=[str(k) for k in PLATEAUS])
def test_reduce_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    topt, xopt = two_group_optimizers(torch)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    xsched = optim.ReduceLROnPlateau(xopt, **kw)
    for i, metric in enumerate(METRICS):
        tsched.step(metric)
        # the metric may come as a 0-d array or a Tensor (read on the host once per epoch)
        xsched.step(metric if i % 3 else xpnn.tensor(np.float32(metric)))
        assert xsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-6), i
    assert xsched.num_bad_epochs == tsched.num_bad_epochs


@pytest.mark.parametrize("key", ["StepLR", "Cosine-restart", "OneCycle", "Sequential",
                                 "Plateau"])
def test_scheduler_state_dict_round_trip(key):
    """A scheduler saved mid-way (through JSON) and loaded into a fresh one, with the
    optimizer's state, continues with the same rates."""
    def make(o):
        if key == "Plateau":
            return optim.ReduceLROnPlateau(o, patience=1, factor=0.5)
        return SCHEDULES[key](optim.lr_scheduler, o)

    def go(sched, o, metrics):
        for m in metrics:
            o.step()
            sched.step(m) if key == "Plateau" else sched.step()
            yield sched.get_last_lr()

    groups = [{"params": [nn.Parameter(xpnn.tensor(np.zeros(2, np.float32)))], "lr": lr}
              for lr in (0.1, 0.02)]
    fresh = [{"params": [nn.Parameter(xpnn.tensor(np.zeros(2, np.float32)))], "lr": lr}
             for lr in (0.1, 0.02)]
    a_opt, b_opt = optim.SGD(groups, momentum=0.9), optim.SGD(fresh, momentum=0.9)
    a, b = make(a_opt), make(b_opt)
    list(go(a, a_opt, METRICS[:9]))
    b_opt.load_state_dict(a_opt.state_dict())
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b.get_last_lr() == a.get_last_lr()
    assert list(go(b, b_opt, METRICS[9:20])) == list(go(a, a_opt, METRICS[9:20]))


BAD_SCHEDULES = [
    (lambda o: optim.StepLR(o, step_size=0), ValueError, "step_size must be an int >= 1, got 0"),
    (lambda o: optim.ExponentialLR(o, gamma=-0.5), ValueError, "gamma .* got -0.5"),
    (lambda o: optim.LinearLR(o, start_factor=0.0), ValueError, r"start_factor .* got 0.0"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=2.5), ValueError, "T_max .* got 2.5"),
    (lambda o: optim.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor .* got 1.0"),
    (lambda o: optim.ReduceLROnPlateau(o, mode="median"), ValueError, "'median'"),
    (lambda o: optim.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 values"),
    (lambda o: optim.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
    (lambda o: optim.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "'exp'"),
    (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2)], [3]), ValueError, "0 milestones"),
    (lambda o: optim.SequentialLR(o, [optim.ReduceLROnPlateau(o), optim.StepLR(o, 2)], [3]),
     ValueError, "schedulers\\[0\\] is a ReduceLROnPlateau"),
    (lambda o: optim.StepLR(object(), 2), TypeError, "expected an xpnn Optimizer"),
    (lambda o: optim.StepLR(o, 2, last_epoch=4), KeyError, "initial_lr"),
]


@pytest.mark.parametrize("make,exc,match", BAD_SCHEDULES, ids=[m for *_, m in BAD_SCHEDULES])
def test_scheduler_validation(make, exc, match):
    groups = [{"params": [nn.Parameter(xpnn.tensor(np.zeros(2, np.float32)))], "lr": 0.1}
              for _ in range(2)]
    with pytest.raises(exc, match=match):
        make(optim.SGD(groups))
    adagrad = optim.Adagrad([nn.Parameter(xpnn.tensor(np.zeros(2, np.float32)))])
    with pytest.raises(ValueError, match="'momentum' or 'betas'"):
        optim.OneCycleLR(adagrad, 1.0, 10)
    with pytest.raises(ValueError, match="stepped 3 times, but total_steps is 2"):
        sched = optim.OneCycleLR(adagrad, 1.0, 2, cycle_momentum=False)
        for _ in range(3):
            sched.step()
