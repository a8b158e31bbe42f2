"""The optimizer surface as PyTorch programs print and save it, against torch 2.13:
``print(optimizer)`` and ``state_dict()["param_groups"]`` (the implementation switches
foreach/fused/capturable/differentiable included, values as given), torch's flag checks,
state dicts exchanged both ways, LR schedulers' state-dict keys, and torch._foreach_* on
every backend (forward and gradients against torch, float64 gradient checks).

Tolerances: float32 results against torch's within 100 float32 eps (torch_same.TOL32);
float64 gradient checks with xpnn.gradcheck's defaults."""
import collections

import numpy as np
import pytest

import xpnn
from conftest import to_np

torch = pytest.importorskip("torch")
from torch_same import TOL32, raises_like, same  # noqa: E402

# -- optimizers: repr and param_groups ---------------------------------------------------
OPTIMIZERS = [
    ("SGD", {}), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("SGD", dict(lr=0.1, foreach=True)), ("SGD", dict(lr=0.1, fused=True)),
    ("Adam", {}), ("Adam", dict(amsgrad=True, fused=True, capturable=True)),
    ("Adam", dict(weight_decay=0.1, foreach=False, decoupled_weight_decay=True)),
    ("AdamW", {}), ("AdamW", dict(weight_decay=0, fused=False)),
    ("Adamax", {}), ("Adamax", dict(foreach=True)),
    ("NAdam", {}), ("NAdam", dict(decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", {}), ("RAdam", dict(decoupled_weight_decay=True)),
    ("RMSprop", {}), ("RMSprop", dict(momentum=0.9, centered=True)),
    ("Rprop", {}), ("Adagrad", {}), ("Adagrad", dict(fused=True, lr_decay=1)),
    ("Adadelta", {}), ("ASGD", {}), ("LBFGS", {}), ("Adafactor", {}), ("Muon", {}),
]
OPT_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in OPTIMIZERS]


def _groups(lib):
    m = lib.nn.Linear(3, 2)
    return [{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5, "weight_decay": 0}]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=OPT_IDS)
def test_optimizer_prints_and_saves_its_groups_as_torch(name, kw):
    if name == "Muon":  # 2-D parameters only
        made = [getattr(lib.optim, name)([lib.nn.Linear(3, 2).weight], **kw)
                for lib in (xpnn, torch)]
    elif name == "LBFGS":  # one group only
        made = [getattr(lib.optim, name)(lib.nn.Linear(3, 2).parameters(), **kw)
                for lib in (xpnn, torch)]
    else:
        made = [getattr(lib.optim, name)(_groups(lib), **kw) for lib in (xpnn, torch)]
    ours, theirs = made
    assert repr(ours) == repr(theirs)
    assert str(ours.state_dict()["param_groups"]) == str(theirs.state_dict()["param_groups"])
    assert str(ours.defaults) == str(theirs.defaults)


def test_hyperparameters_keep_the_type_given():
    for lib in (xpnn, torch):
        g = lib.optim.SGD(_groups(lib), lr=1, momentum=0, weight_decay=0.0).param_groups[0]
        assert (type(g["lr"]), type(g["momentum"]), type(g["weight_decay"])) == \
            (int, int, float)


# -- flags: torch's checks ------------------------------------------------------------------
FLAG_ERRORS = {
    "SGD-fused-foreach": lambda lib: lib.optim.SGD(_groups(lib), lr=0.1, fused=True,
                                                   foreach=True),
    "Adam-fused-foreach": lambda lib: lib.optim.Adam(_groups(lib), fused=True, foreach=True),
    "AdamW-fused-differentiable": lambda lib: lib.optim.AdamW(_groups(lib), fused=True,
                                                              differentiable=True),
    "Adagrad-fused-differentiable": lambda lib: lib.optim.Adagrad(_groups(lib), fused=True,
                                                                  differentiable=True),
}


@pytest.mark.parametrize("case", list(FLAG_ERRORS), ids=list(FLAG_ERRORS))
def test_flags_torch_refuses_raise_its_class(case):
    raises_like(FLAG_ERRORS[case])


def test_flag_errors_name_the_optimizer_and_values():
    with pytest.raises(RuntimeError, match="AdamW: `fused` does not support `differentiable`"):
        FLAG_ERRORS["AdamW-fused-differentiable"](xpnn)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        FLAG_ERRORS["SGD-fused-foreach"](xpnn)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "ASGD"])
def test_differentiable_is_accepted_then_the_step_refuses_as_torch(name):
    """torch accepts differentiable=True, and its step on a leaf that requires grad fails
    (an in-place change of such a leaf); xpnn the same."""
    for lib in (xpnn, torch):
        p = lib.nn.Parameter(lib.ones(3))
        opt = getattr(lib.optim, name)([p], lr=0.1, differentiable=True)
        assert opt.param_groups[0]["differentiable"] is True
        p.grad = lib.ones(3)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            opt.step()


def test_differentiable_step_without_anything_to_record_runs():
    """Params that do not require grad: torch's differentiable step is the plain update."""
    out = []
    for lib in (xpnn, torch):
        p = lib.ones(3)
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9, differentiable=True)
        for _ in range(3):
            p.grad = lib.ones(3)
            opt.step()
        out.append(p)
    same(*out)


def _trajectory(lib, name, kw, steps=4):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype("float32")
    p = lib.nn.Parameter(lib.tensor(w))
    opt = getattr(lib.optim, name)([p], **kw)
    for _ in range(steps):
        p.grad = lib.tensor(rng.standard_normal((3, 4)).astype("float32"))
        opt.step()
    return p.detach()


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.1, momentum=0.9, fused=True)),
    ("Adam", dict(lr=0.1, fused=True)), ("AdamW", dict(lr=0.1, fused=True, amsgrad=True)),
    ("Adagrad", dict(lr=0.1, fused=True)), ("Adam", dict(lr=0.1, foreach=True)),
    ("NAdam", dict(lr=0.1, foreach=True)), ("RMSprop", dict(lr=0.1, foreach=True)),
])
def test_fused_and_foreach_follow_torchs_trajectory(name, kw, backend):
    same(_trajectory(xpnn, name, kw), _trajectory(torch, name, kw))


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
                                  "Rprop", "Adadelta", "ASGD"])
def test_capturable_changes_nothing(name, backend):
    """xpnn's steps never read the device (what capturable asks for): the same trajectory.
    torch on the CPU refuses capturable=True at the step (CUDA-only); compared with its
    capturable=False trajectory."""
    same(_trajectory(xpnn, name, dict(lr=0.05, capturable=True)),
         _trajectory(torch, name, dict(lr=0.05)))


# -- state dicts both ways ----------------------------------------------------------------
def _convert(obj, to):
    """A state dict with every tensor made the other library's (``to``)."""
    if isinstance(obj, (xpnn.Tensor, torch.Tensor)):
        arr = to_np(obj) if isinstance(obj, xpnn.Tensor) else obj.detach().numpy()
        return to.tensor(np.array(arr, copy=True))
    if isinstance(obj, dict):
        return {k: _convert(v, to) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_convert(v, to) for v in obj)
    return obj


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05, fused=True)), ("NAdam", dict(lr=0.05)),
    ("RMSprop", dict(lr=0.05, centered=True, momentum=0.5)), ("Adagrad", dict(lr=0.1)),
    ("ASGD", dict(lr=0.05, t0=1)), ("Rprop", dict(lr=0.05)), ("Adadelta", dict(lr=0.5)),
])
def test_state_dicts_cross_between_xpnn_and_torch(name, kw, backend):
    """3 steps on one library, the state dict (tensors converted) loaded into the other,
    3 more steps: each ends where 6 steps of the first end."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 3)).astype("float32")
    grads = [rng.standard_normal((2, 3)).astype("float32") for _ in range(6)]

    def run(lib, gs, p=None, sd=None):
        p = lib.nn.Parameter(lib.tensor(w)) if p is None else p
        opt = getattr(lib.optim, name)([p], **kw)
        if sd is not None:
            opt.load_state_dict(sd)
        for g in gs:
            p.grad = lib.tensor(g)
            opt.step()
        return p, opt

    for first, second in ((xpnn, torch), (torch, xpnn)):
        p, opt = run(first, grads[:3])
        sd = _convert(opt.state_dict(), second)
        assert str(sd["param_groups"]) == str(opt.state_dict()["param_groups"])
        q = second.nn.Parameter(second.tensor(np.array(to_np(p) if first is xpnn
                                                       else p.detach().numpy())))
        q, _ = run(second, grads[3:], q, sd)
        ref, _ = run(first, grads)
        a = to_np(q) if second is xpnn else q.detach().numpy()
        b = to_np(ref) if first is xpnn else ref.detach().numpy()
        np.testing.assert_allclose(a, b, rtol=20 * TOL32, atol=20 * TOL32)


def test_an_older_state_dict_without_the_flags_loads():
    p = xpnn.nn.Parameter(xpnn.ones(2))
    opt = xpnn.optim.Adam([p], lr=0.1)
    sd = opt.state_dict()
    for g in sd["param_groups"]:
        for key in ("foreach", "fused", "capturable", "differentiable"):
            del g[key]
    opt2 = xpnn.optim.Adam([xpnn.nn.Parameter(xpnn.ones(2))], lr=0.5, fused=True)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["fused"] is True


# -- LR schedulers: state-dict keys -------------------------------------------------------
SCHEDULERS = {
    "StepLR": lambda S, o: S.StepLR(o, 3),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, [2, 4, 4]),
    "ConstantLR": lambda S, o: S.ConstantLR(o),
    "LinearLR": lambda S, o: S.LinearLR(o),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, 10),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, 5),
    "CyclicLR": lambda S, o: S.CyclicLR(o, 0.01, 0.1),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=20),
    "OneCycleLR-3": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=20, three_phase=True,
                                              anneal_strategy="linear"),
    "ReduceLROnPlateau": lambda S, o: S.ReduceLROnPlateau(o, patience=1),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.9),
    "SequentialLR": lambda S, o: S.SequentialLR(o, [S.ConstantLR(o), S.ExponentialLR(o, 0.9)],
                                                [3]),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler([S.ConstantLR(o),
                                                         S.ExponentialLR(o, 0.9)]),
    "SWALR": lambda S, o: _swalr(o),
}


def _swalr(opt):
    lib = xpnn if isinstance(opt, xpnn.optim.Optimizer) else torch
    return lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=3,
                                     anneal_strategy="linear")
# torch's CosineAnnealingWarmRestarts never counts its steps (its own step() skips it)
SCHED_VALUES_DIFFER = {"CosineAnnealingWarmRestarts": {"_step_count"}}


def _schedule(lib, name, steps=4):
    p = lib.nn.Parameter(lib.zeros(2))
    opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
    for i in range(steps):
        opt.step()
        sched.step(*([1.0] if name == "ReduceLROnPlateau" else []))
    return opt, sched


def _plain(state, skip=()):
    return {k: v for k, v in state.items() if k not in skip}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_state_dict_has_torchs_keys_and_values(name):
    (_, ours), (_, theirs) = _schedule(xpnn, name), _schedule(torch, name)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    skip = SCHED_VALUES_DIFFER.get(name, ())
    assert str(_plain(a, skip)) == str(_plain(b, skip))


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_torchs_scheduler_state_dict_loads_and_continues(name):
    """A torch scheduler's state dict (plain Python values) loaded into xpnn's: the next
    steps give torch's rates."""
    topt, tsched = _schedule(torch, name, steps=3)
    xopt, xsched = _schedule(xpnn, name, steps=0)
    xopt.load_state_dict(_convert(topt.state_dict(), xpnn))
    xsched.load_state_dict(tsched.state_dict())
    for _ in range(3):
        for opt, sched in ((xopt, xsched), (topt, tsched)):
            opt.step()
            sched.step(*([2.0] if name == "ReduceLROnPlateau" else []))
        np.testing.assert_allclose(xsched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)


def test_multisteplr_saves_a_counter_and_loads_the_older_list():
    opt, sched = _schedule(xpnn, "MultiStepLR")
    sd = sched.state_dict()
    assert sd["milestones"] == collections.Counter({2: 1, 4: 2})
    old = dict(sd, milestones=[2, 4, 4])
    opt2, sched2 = _schedule(xpnn, "MultiStepLR", steps=0)
    sched2.load_state_dict(old)
    assert sched2.state_dict()["milestones"] == sd["milestones"]


def test_swalr_loads_xpnn_older_key():
    opt, sched = _schedule(xpnn, "SWALR", steps=2)
    sd = sched.state_dict()
    old = {("anneal_strategy" if k == "_anneal_strategy" else k): v for k, v in sd.items()}
    _, sched2 = _schedule(xpnn, "SWALR", steps=0)
    sched2.load_state_dict(old)
    assert sched2.state_dict() == sd


def test_onecyclelr_loads_xpnn_older_keys():
    """Checkpoints saved before (``phases`` as tuples, ``anneal_strategy``) still load."""
    opt, sched = _schedule(xpnn, "OneCycleLR-3", steps=3)
    sd = sched.state_dict()
    old = {k: v for k, v in sd.items() if k not in ("_schedule_phases", "_anneal_func_type",
                                                    "_get_lr_called_within_step")}
    old["phases"] = [tuple(ph.values()) for ph in sd["_schedule_phases"]]
    old["anneal_strategy"] = sd["_anneal_func_type"]
    opt2, sched2 = _schedule(xpnn, "OneCycleLR", steps=0)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(old)
    assert sched2.state_dict() == sd
    for o, s in ((opt, sched), (opt2, sched2)):
        o.step()
        s.step()
    assert sched.get_last_lr() == sched2.get_last_lr()


# -- torch._foreach_* ---------------------------------------------------------------------
SHAPES = [(2, 3), (4,), ()]


def _lists(lib, n_lists, dtype="float32", positive=False, grad=False, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_lists):
        arrs = [rng.uniform(0.5, 2.0, s) if positive else rng.standard_normal(s)
                for s in SHAPES]
        ts = [lib.tensor(np.asarray(a, dtype=dtype), dtype=getattr(lib, dtype)) for a in arrs]
        out.append([t.requires_grad_(True) for t in ts] if grad else ts)
    return out


def _scalar(lib, v, dtype="float32"):
    return lib.tensor(v, dtype=getattr(lib, dtype))


# name -> (number of tensor lists, positive inputs, call(lib, lists) -> result)
FOREACH = {
    "add-scalar": (1, False, lambda lib, L: lib._foreach_add(L[0], 2.5)),
    "add-scalars": (1, False, lambda lib, L: lib._foreach_add(L[0], [1, 2.5, -1])),
    "add-list-alpha": (2, False, lambda lib, L: lib._foreach_add(L[0], L[1], alpha=0.5)),
    "add-0d": (1, False, lambda lib, L: lib._foreach_add(L[0], _scalar(lib, 3.0))),
    "add-0d-alpha": (1, False, lambda lib, L: lib._foreach_add(L[0], _scalar(lib, 3.0),
                                                               alpha=2)),
    "sub-list": (2, False, lambda lib, L: lib._foreach_sub(L[0], L[1])),
    "sub-scalar": (1, False, lambda lib, L: lib._foreach_sub(L[0], 1)),
    "mul-scalar": (1, False, lambda lib, L: lib._foreach_mul(L[0], 0.5)),
    "mul-list": (2, False, lambda lib, L: lib._foreach_mul(L[0], L[1])),
    "mul-0d": (1, False, lambda lib, L: lib._foreach_mul(L[0], _scalar(lib, -2.0))),
    "div-scalars": (1, False, lambda lib, L: lib._foreach_div(L[0], [2, 4.0, 0.5])),
    "div-list": (2, True, lambda lib, L: lib._foreach_div(L[0], L[1])),
    "lerp-scalar": (2, False, lambda lib, L: lib._foreach_lerp(L[0], L[1], 0.25)),
    "lerp-scalars": (2, False, lambda lib, L: lib._foreach_lerp(L[0], L[1], [0.1, 0.5, 0.9])),
    "lerp-list": (3, True, lambda lib, L: lib._foreach_lerp(L[0], L[1], L[2])),
    "addcmul-value": (3, False, lambda lib, L: lib._foreach_addcmul(L[0], L[1], L[2],
                                                                   value=0.5)),
    "addcmul-scalars": (3, False, lambda lib, L: lib._foreach_addcmul(L[0], L[1], L[2],
                                                                     [1, -2.0, 0.5])),
    "addcmul-tensor": (3, False, lambda lib, L: lib._foreach_addcmul(
        L[0], L[1], L[2], lib.tensor([1.0, -2.0, 0.5]))),
    "addcdiv-value": (3, True, lambda lib, L: lib._foreach_addcdiv(L[0], L[1], L[2],
                                                                  value=-0.5)),
    "addcdiv-tensor": (3, True, lambda lib, L: lib._foreach_addcdiv(
        L[0], L[1], L[2], lib.tensor([1.0, -2.0, 0.5]))),
    "sqrt": (1, True, lambda lib, L: lib._foreach_sqrt(L[0])),
    "rsqrt": (1, True, lambda lib, L: lib._foreach_rsqrt(L[0])),
    "neg": (1, False, lambda lib, L: lib._foreach_neg(L[0])),
    "abs": (1, False, lambda lib, L: lib._foreach_abs(L[0])),
    "exp": (1, False, lambda lib, L: lib._foreach_exp(L[0])),
    "log": (1, True, lambda lib, L: lib._foreach_log(L[0])),
    "sign": (1, False, lambda lib, L: lib._foreach_sign(L[0])),
    "reciprocal": (1, True, lambda lib, L: lib._foreach_reciprocal(L[0])),
    "sigmoid": (1, False, lambda lib, L: lib._foreach_sigmoid(L[0])),
    "tanh": (1, False, lambda lib, L: lib._foreach_tanh(L[0])),
    "maximum-list": (2, False, lambda lib, L: lib._foreach_maximum(L[0], L[1])),
    "maximum-scalar": (1, False, lambda lib, L: lib._foreach_maximum(L[0], 0.1)),
    "minimum-scalars": (1, False, lambda lib, L: lib._foreach_minimum(L[0], [0.1, -0.2, 0])),
    "clamp_min-scalar": (1, False, lambda lib, L: lib._foreach_clamp_min(L[0], -0.3)),
    "clamp_max-scalars": (1, False, lambda lib, L: lib._foreach_clamp_max(L[0],
                                                                         [0.3, 0.0, 1])),
    "clamp_min-list": (2, False, lambda lib, L: lib._foreach_clamp_min(L[0], L[1])),
    "pow-scalar": (1, True, lambda lib, L: lib._foreach_pow(L[0], 3)),
    "pow-scalars": (1, True, lambda lib, L: lib._foreach_pow(L[0], [2, 0.5, -1.5])),
    "pow-list": (2, True, lambda lib, L: lib._foreach_pow(L[0], L[1])),
    "pow-scalar-base": (1, False, lambda lib, L: lib._foreach_pow(2.0, L[0])),
    "norm": (1, False, lambda lib, L: lib._foreach_norm(L[0])),
    "norm-1": (1, False, lambda lib, L: lib._foreach_norm(L[0], 1)),
    "norm-inf": (1, False, lambda lib, L: lib._foreach_norm(L[0], float("inf"))),
}
# forms whose derivative is zero almost everywhere (torch: sign's gradient is zeros)
NO_GRADCHECK = {"sign"}
# torch has no derivative for the packed-scalars form ("derivative for
# aten::_foreach_addcmul is not implemented"); xpnn's is checked by the gradient check
TORCH_NO_BACKWARD = {"addcmul-tensor", "addcdiv-tensor"}
# torch's backward of _foreach_addcdiv fails on a 0-d Tensor in the list ("select() cannot
# be applied to a 0-dim tensor"): its gradients are taken from torch.addcdiv per Tensor
TORCH_PER_TENSOR = {"addcdiv-value": lambda L: tuple(torch.addcdiv(a, b, c, value=-0.5)
                                                      for a, b, c in zip(*L))}


@pytest.mark.parametrize("case", list(FOREACH))
def test_foreach_matches_torch_forward_and_backward(case, backend):
    n, positive, call = FOREACH[case]
    xs, ts = _lists(xpnn, n, positive=positive, grad=True), \
        _lists(torch, n, positive=positive, grad=True)
    out_x, out_t = call(xpnn, xs), call(torch, ts)
    assert type(out_x) is tuple and len(out_x) == len(SHAPES)
    same(out_x, out_t)
    if case in TORCH_NO_BACKWARD:
        return
    if case in TORCH_PER_TENSOR:
        out_t = TORCH_PER_TENSOR[case](ts)
    w = [np.random.default_rng(5).standard_normal(np.shape(to_np(o))).astype("float32")
         for o in out_x]
    sum((o * xpnn.tensor(wi)).sum() for o, wi in zip(out_x, w)).backward()
    sum((o * torch.tensor(wi)).sum() for o, wi in zip(out_t, w)).backward()
    for lx, lt in zip(xs, ts):
        for a, b in zip(lx, lt):
            same(a.grad, b.grad)


@pytest.mark.parametrize("case", [c for c in FOREACH if c not in NO_GRADCHECK])
def test_foreach_gradcheck_float64(case):
    n, positive, call = FOREACH[case]
    flat = [t for lst in _lists(xpnn, n, "float64", positive, grad=True, seed=3) for t in lst]
    k = len(SHAPES)

    def fn(*ts):
        lists = [list(ts[i * k:(i + 1) * k]) for i in range(n)]
        with xpnn.autograd.set_grad_enabled(True):
            outs = call(xpnn, lists)
        return xpnn.cat([o.reshape(-1).to(xpnn.float64) for o in outs])
    assert xpnn.gradcheck(fn, *flat)


INPLACE = {
    "add_-scalar": (1, lambda lib, L: lib._foreach_add_(L[0], 2.5)),
    "add_-list-alpha": (2, lambda lib, L: lib._foreach_add_(L[0], L[1], alpha=-0.1)),
    "add_-0d": (1, lambda lib, L: lib._foreach_add_(L[0], _scalar(lib, 3.0), alpha=2)),
    "sub_-scalars": (1, lambda lib, L: lib._foreach_sub_(L[0], [1, 2, 3])),
    "mul_-0d": (1, lambda lib, L: lib._foreach_mul_(L[0], _scalar(lib, 0.9))),
    "mul_-list": (2, lambda lib, L: lib._foreach_mul_(L[0], L[1])),
    "div_-scalar": (1, lambda lib, L: lib._foreach_div_(L[0], 3)),
    "lerp_-ema": (2, lambda lib, L: lib._foreach_lerp_(L[0], L[1], 1 - 0.99)),
    "lerp_-list": (3, lambda lib, L: lib._foreach_lerp_(L[0], L[1], L[2])),
    "addcmul_": (3, lambda lib, L: lib._foreach_addcmul_(L[0], L[1], L[2], value=0.1)),
    "addcmul_-tensor": (3, lambda lib, L: lib._foreach_addcmul_(L[0], L[1], L[2],
                                                                lib.tensor([1., 2., 3.]))),
    "addcdiv_-scalars": (3, lambda lib, L: lib._foreach_addcdiv_(
        L[0], L[1], lib._foreach_add(lib._foreach_abs(L[2]), 1.0), [0.5, -1, 2])),
    "sqrt_": (1, lambda lib, L: lib._foreach_sqrt_(lib._foreach_abs_(L[0]))),
    "neg_": (1, lambda lib, L: lib._foreach_neg_(L[0])),
    "exp_": (1, lambda lib, L: lib._foreach_exp_(L[0])),
    "sign_": (1, lambda lib, L: lib._foreach_sign_(L[0])),
    "zero_": (1, lambda lib, L: lib._foreach_zero_(L[0])),
    "copy_": (2, lambda lib, L: lib._foreach_copy_(L[0], L[1])),
    "maximum_-list": (2, lambda lib, L: lib._foreach_maximum_(L[0], L[1])),
    "maximum_-scalar": (1, lambda lib, L: lib._foreach_maximum_(L[0], 0.0)),
    "minimum_-list": (2, lambda lib, L: lib._foreach_minimum_(L[0], L[1])),
    "clamp_min_": (1, lambda lib, L: lib._foreach_clamp_min_(L[0], [-0.5, 0.0, 0.5])),
    "clamp_max_": (1, lambda lib, L: lib._foreach_clamp_max_(L[0], 0.2)),
    "pow_": (1, lambda lib, L: lib._foreach_pow_(lib._foreach_abs_(L[0]), 2)),
}


@pytest.mark.parametrize("case", list(INPLACE))
def test_foreach_inplace_on_leaves_under_no_grad(case, backend):
    """The in-place forms change the Tensors themselves (the same objects, their versions
    bumped) under no_grad on leaves that require grad, and return the list given."""
    n, call = INPLACE[case]
    results = []
    for lib in (xpnn, torch):
        lists = _lists(lib, n, grad=True)
        before = [t._version for t in lists[0]]
        ids = [id(t) for t in lists[0]]
        with lib.no_grad():
            got = call(lib, lists)
        assert got is lists[0] and [id(t) for t in got] == ids
        assert all(t._version > v for t, v in zip(lists[0], before))
        assert all(t.requires_grad and t.is_leaf for t in lists[0])
        results.append([t.detach() for t in lists[0]])
    same(*results)


def test_foreach_momentum_encoder_update(backend):
    """The EMA of a key encoder (MoCo-style), each parameter updated under no_grad."""
    out = []
    for lib in (xpnn, torch):
        lib.manual_seed(0)
        q, k = lib.nn.Linear(4, 3), lib.nn.Linear(4, 3)
        with lib.no_grad():
            for a, b in zip(q.parameters(), k.parameters()):
                a.copy_(lib.tensor(np.full(tuple(a.shape), 2.0, "float32")))
                b.copy_(lib.tensor(np.full(tuple(b.shape), -1.0, "float32")))
            for _ in range(3):
                lib._foreach_mul_(list(k.parameters()), 0.9)
                lib._foreach_add_(list(k.parameters()), list(q.parameters()), alpha=0.1)
        out.append([p.detach() for p in k.parameters()])
    same(*out)


FOREACH_BAD = {
    "empty": lambda lib: lib._foreach_add([], 1),
    "lengths": lambda lib: lib._foreach_add(_lists(lib, 1)[0], _lists(lib, 1)[0][:2]),
    "scalar-lengths": lambda lib: lib._foreach_mul(_lists(lib, 1)[0], [1, 2]),
    "not-0d": lambda lib: lib._foreach_add(_lists(lib, 1)[0], lib.ones(2)),
    "alpha-with-scalar": lambda lib: lib._foreach_add(_lists(lib, 1)[0], 1, alpha=2),
    "a-tensor-not-a-list": lambda lib: lib._foreach_add(lib.ones(2), 1),
    "a-string": lambda lib: lib._foreach_add(_lists(lib, 1)[0], "x"),
    "shapes": lambda lib: lib._foreach_add([lib.ones(2)], [lib.ones(3)]),
    "scalars-2d": lambda lib: lib._foreach_addcmul(*_lists(lib, 3), lib.ones(3, 1)),
    "scalars-length": lambda lib: lib._foreach_addcdiv(*_lists(lib, 3), lib.ones(2)),
    "inplace-leaf-with-grad": lambda lib: lib._foreach_add_(_lists(lib, 1, grad=True)[0], 1),
    "lerp-lengths": lambda lib: lib._foreach_lerp_(_lists(lib, 1)[0], _lists(lib, 1)[0][:1],
                                                   0.5),
}


@pytest.mark.parametrize("case", list(FOREACH_BAD))
def test_foreach_bad_arguments_raise_torchs_class(case):
    raises_like(FOREACH_BAD[case])


def test_foreach_errors_name_the_op_and_what_was_given():
    xs = _lists(xpnn, 1)[0]
    with pytest.raises(RuntimeError, match="_foreach_add: Tensor lists must have the same "
                                           "number of tensors, got 3 and 2"):
        xpnn._foreach_add(xs, xs[:2])
    with pytest.raises(RuntimeError, match=r"_foreach_mul: scalar tensor expected to be 0 dim "
                                           r"but it has 1 dimensions .*shape \(2,\)"):
        xpnn._foreach_mul(xs, xpnn.ones(2))
    with pytest.raises(RuntimeError, match="_foreach_add_: Tensor list must have at least"):
        xpnn._foreach_add_([], 1)
