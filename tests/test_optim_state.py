"""Optimizer state as PyTorch exposes it: every slot of ``optimizer.state[p]`` and of
``state_dict()["state"]`` is a Tensor (the step a 0-d float32 Tensor where torch.optim
keeps one), live (a user's in-place change of a moment or of the step steers the next step
as in torch), and state dicts round-trip through xpnn.save / xpnn.load, from torch.optim,
and from xpnn's older form (raw arrays and a Python int step)."""
import copy
import io

import numpy as np
import pytest

import xpnn
from conftest import to_np
from xpnn import backend as B
from xpnn import nn, optim

torch = pytest.importorskip("torch")

# every slot of each optimizer is exercised: AMSGrad's max, RMSprop's three averages, ASGD
# past t0 (averaging with mu < 1), SGD's momentum buffer
CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5)),
    ("Adadelta", dict(lr=0.5)),
    ("Adamax", dict(lr=1e-2)),
    ("NAdam", dict(lr=1e-2)),
    ("RAdam", dict(lr=1e-2)),  # rho_t > 5 from step 6: steps 1-3 unrectified, 4+ mixed
    ("ASGD", dict(lr=0.05, lambd=1e-2, t0=2)),
    ("Rprop", dict(lr=0.05)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CASES]
SHAPES = [(3, 4), (5,)]
STEPS = 6
# float32 trajectories, the same formulas in a few different operation orders
TOL = 2e-5



def _home(opt, p, slot):
    """Where a slot lives: 0-d counts (step) in host memory, as PyTorch's CPU step beside
    CUDA parameters; the rest on the parameter's backend."""
    if slot in opt._count_slots and not p._be.on_host:
        return B.get_backend("numpy")
    return p._be

def problem(shapes=SHAPES, steps=STEPS):
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(s).astype("float32") for s in shapes]
    grads = [[rng.standard_normal(s).astype("float32") for s in shapes] for _ in range(steps)]
    return params, grads


def ours(name, kw, params, backend="numpy"):
    ps = [nn.Parameter(xpnn.tensor(p.copy(), backend=backend)) for p in params]
    return ps, getattr(optim, name)(ps, **kw)


def theirs(name, kw, params):
    ts = [torch.nn.Parameter(torch.tensor(p)) for p in params]
    return ts, getattr(torch.optim, name)(ts, **kw)


def step_ours(ps, opt, grads):
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = p._be.asarray(g)
        opt.step()


def step_theirs(ts, opt, grads):
    for gs in grads:
        for t, g in zip(ts, gs):
            t.grad = torch.tensor(g)
        opt.step()


def assert_params(ps, ts, what):
    for i, (p, t) in enumerate(zip(ps, ts)):
        np.testing.assert_allclose(to_np(p.array), t.detach().numpy(), rtol=TOL, atol=TOL,
                                   err_msg=f"{what}: param {i}")


def to_xpnn(obj):
    """A torch state dict with every torch Tensor made an xpnn Tensor."""
    if isinstance(obj, torch.Tensor):
        return xpnn.tensor(obj.detach().numpy().copy())
    if isinstance(obj, dict):
        return {k: to_xpnn(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_xpnn(v) for v in obj)
    return obj


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_slots_are_tensors_as_torch_keeps_them(name, kw, backend):
    """After 3 steps: the same slot names as torch, each a Tensor of torch's shape and dtype
    on the parameter's backend, the step's value torch's; the state dict holds the very same
    Tensors (live, as torch's)."""
    params, grads = problem()
    ps, opt = ours(name, kw, params, backend)
    ts, topt = theirs(name, kw, params)
    step_ours(ps, opt, grads[:3])
    step_theirs(ts, topt, grads[:3])
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"]) == [0, 1]
    for i, (p, t) in enumerate(zip(ps, ts)):
        mine, ref = opt.state[p], topt.state[t]
        assert list(mine) == list(ref), f"param {i}: slots (and their order)"
        for slot, r in ref.items():
            v = mine[slot]
            what = f"param {i} slot {slot}"
            assert isinstance(v, xpnn.Tensor) and not v.requires_grad, what
            assert v.shape == tuple(r.shape) and v._be is _home(opt, p, slot), what
            assert B.dtype_name(v.dtype) == str(r.dtype).removeprefix("torch."), what
            assert sd["state"][i][slot] is v, what
            if slot == "step":
                assert v.item() == r.item() == 3.0
            np.testing.assert_allclose(to_np(v.array), r.numpy(), rtol=TOL, atol=1e-6,
                                       err_msg=what)


def change_both(mine, ref):
    """The in-place changes research code makes: moments halved, one zeroed, the step
    moved on (bias corrections read it)."""
    slots = [s for s in ref if ref[s].ndim > 0]
    for k, slot in enumerate(slots):
        if k == 0:
            mine[slot].zero_()
            ref[slot].zero_()
        else:
            mine[slot].mul_(0.5)
            ref[slot].mul_(0.5)
    if "step" in ref:
        mine["step"].add_(4)
        ref["step"].add_(4)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_in_place_changes_of_the_state_steer_the_next_step(name, kw, backend):
    """state[p]["exp_avg"].zero_(), .mul_(0.5) and state[p]["step"].add_(4) after 3 steps,
    then 3 more steps: torch's parameters."""
    params, grads = problem()
    ps, opt = ours(name, kw, params, backend)
    ts, topt = theirs(name, kw, params)
    step_ours(ps, opt, grads[:3])
    step_theirs(ts, topt, grads[:3])
    for p, t in zip(ps, ts):
        change_both(opt.state[p], topt.state[t])
    step_ours(ps, opt, grads[3:])
    step_theirs(ts, topt, grads[3:])
    assert_params(ps, ts, f"{name} after in-place changes")
    for p, t in zip(ps, ts):
        for slot, r in topt.state[t].items():
            np.testing.assert_allclose(to_np(opt.state[p][slot].array), r.numpy(), rtol=TOL,
                                       atol=1e-6, err_msg=slot)


def test_adam_threaded_numpy_path_sees_in_place_changes(monkeypatch):
    """Adam's NumPy fast path (split over CPU threads for a large parameter) updates the
    arrays the state Tensors hold and sees a user's in-place change of them."""
    from xpnn import cpu
    from xpnn.optim import adam
    calls = []
    native = adam.ADAM["numpy"]
    monkeypatch.setitem(adam.ADAM, "numpy", lambda *a: calls.append(1) or native(*a))
    monkeypatch.setattr(cpu, "workers", lambda total, grain: 2)  # split even on one core
    params, grads = problem([(300, 500), (7,)], 4)
    ps, opt = ours("Adam", dict(lr=1e-2), params)
    ts, topt = theirs("Adam", dict(lr=1e-2), params)
    step_ours(ps, opt, grads[:2])
    step_theirs(ts, topt, grads[:2])
    held = [opt.state[p]["exp_avg"] for p in ps]
    for p, t in zip(ps, ts):
        change_both(opt.state[p], topt.state[t])
    step_ours(ps, opt, grads[2:])
    step_theirs(ts, topt, grads[2:])
    assert len(calls) == 4
    assert_params(ps, ts, "threaded Adam")
    assert all(h is opt.state[p]["exp_avg"] for h, p in zip(held, ps))
    np.testing.assert_allclose(to_np(held[0].array), topt.state[ts[0]]["exp_avg"].numpy(),
                               rtol=TOL, atol=1e-6)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_save_load_round_trip_continues_uninterrupted(name, kw, backend):
    """state_dict -> xpnn.save (BytesIO) -> xpnn.load -> load_state_dict into a fresh
    optimizer on this backend: 3 more steps equal 6 uninterrupted ones (and torch's)."""
    params, grads = problem()
    ps, opt = ours(name, kw, params)
    step_ours(ps, opt, grads[:3])
    buf = io.BytesIO()
    xpnn.save(opt.state_dict(), buf)
    buf.seek(0)
    loaded = xpnn.load(buf)
    qs, opt2 = ours(name, dict(kw, lr=123.0), [to_np(p.array) for p in ps], backend)
    opt2.load_state_dict(loaded)
    for q, p in zip(qs, ps):
        for slot, v in opt.state[p].items():
            w = opt2.state[q][slot]
            assert isinstance(w, xpnn.Tensor) and w._be is _home(opt2, q, slot) and w is not v
            assert B.dtype_name(w.dtype) == B.dtype_name(v.dtype) and w.shape == v.shape
    step_ours(ps, opt, grads[3:])
    step_ours(qs, opt2, grads[3:])
    for i, (q, p) in enumerate(zip(qs, ps)):
        np.testing.assert_allclose(to_np(q.array), to_np(p.array), rtol=1e-6, atol=1e-6,
                                   err_msg=f"param {i}")
        assert opt2.state[q].get("step", xpnn.tensor(6.0)).item() == 6.0
    ts, topt = theirs(name, kw, params)
    step_theirs(ts, topt, grads)
    assert_params(qs, ts, f"{name} resumed")


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_loads_torch_state_dict_as_xpnn_tensors(name, kw, backend):
    """torch.optim's state dict after 3 steps, its tensors made xpnn Tensors (what a
    converted torch checkpoint holds), loads and continues on torch's trajectory."""
    params, grads = problem()
    ts, topt = theirs(name, kw, params)
    step_theirs(ts, topt, grads[:3])
    ps, opt = ours(name, kw, [t.detach().numpy() for t in ts], backend)
    opt.load_state_dict(to_xpnn(topt.state_dict()))
    for p in ps:
        assert all(isinstance(v, xpnn.Tensor) for v in opt.state[p].values())
    step_ours(ps, opt, grads[3:])
    step_theirs(ts, topt, grads[3:])
    assert_params(ps, ts, f"{name} from torch's state")


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_loads_the_older_form_raw_arrays_and_int_step(name, kw):
    """An xpnn state dict of before (raw backend arrays, a Python int step, Python floats
    for NAdam's mu_product and ASGD's eta and mu) loads as Tensors and continues."""
    params, grads = problem()
    ps, opt = ours(name, kw, params)
    step_ours(ps, opt, grads[:3])
    sd = opt.state_dict()
    old = {"param_groups": sd["param_groups"],
           "state": {i: {k: (v.item() if v.ndim == 0 and k != "step" else
                             int(v.item()) if k == "step" else to_np(v.array).copy())
                         for k, v in slots.items()} for i, slots in sd["state"].items()}}
    if "step" in old["state"][0]:
        assert type(old["state"][0]["step"]) is int
    qs, opt2 = ours(name, kw, [to_np(p.array) for p in ps])
    opt2.load_state_dict(old)
    for q in qs:
        for slot, v in opt2.state[q].items():
            assert isinstance(v, xpnn.Tensor), slot
            if v.ndim == 0:
                assert B.dtype_name(v.dtype) == "float32", slot
    step_ours(ps, opt, grads[3:])
    step_ours(qs, opt2, grads[3:])
    for q, p in zip(qs, ps):
        np.testing.assert_allclose(to_np(q.array), to_np(p.array), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_deepcopy_and_print(name, kw, monkeypatch):
    """copy.deepcopy(optimizer) holds its own copies of the state and continues as the
    original would, its host mirrors of the step kept (no device read); print(optimizer.
    state_dict()) shows the slots as torch prints them."""
    reads = []
    to_numpy = B.to_numpy
    monkeypatch.setattr(B, "to_numpy", lambda a: reads.append(1) or to_numpy(a))
    params, grads = problem()
    ps, opt = ours(name, kw, params)
    step_ours(ps, opt, grads[:3])
    text = str(opt.state_dict())
    assert "tensor(" in text and ("step" not in opt.state[ps[0]] or "'step': tensor(3.)" in text)
    twin = copy.deepcopy(opt)
    qs = twin.param_groups[0]["params"]
    assert all(q is not p for q, p in zip(qs, ps))
    for q, p in zip(qs, ps):
        for slot, v in opt.state[p].items():
            assert twin.state[q][slot] is not v and twin.state[q][slot].array is not v.array
    reads.clear()
    step_ours(qs, twin, grads[3:])
    assert reads == []
    if "step" in opt.state[ps[0]]:
        assert opt.state[ps[0]]["step"].item() == 3.0  # the original did not move
        assert twin.state[qs[0]]["step"].item() == 6.0
    step_ours(ps, opt, grads[3:])
    for q, p in zip(qs, ps):
        np.testing.assert_allclose(to_np(q.array), to_np(p.array), rtol=0, atol=0)


def test_step_stays_on_the_host_mirror_until_changed(monkeypatch):
    """The bias corrections read the step from a host mirror: no device read in a step,
    one read (of a step the user changed in place) at the next step, then none again."""
    reads = []
    to_numpy = B.to_numpy
    monkeypatch.setattr(B, "to_numpy", lambda a: reads.append(1) or to_numpy(a))
    params, grads = problem()
    ps, opt = ours("Adam", dict(lr=1e-2), params, "array_api_strict:device1")
    ts, topt = theirs("Adam", dict(lr=1e-2), params)
    step_ours(ps, opt, grads[:2])
    step_theirs(ts, topt, grads[:2])
    assert reads == []
    kept = opt.state[ps[0]]["step"]
    kept.fill_(10.0)
    topt.state[ts[0]]["step"].fill_(10.0)
    step_ours(ps, opt, grads[2:4])
    step_theirs(ts, topt, grads[2:4])
    assert len(reads) == 1
    assert opt.state[ps[0]]["step"] is kept  # the user's Tensor stays the slot, as in torch
    reads.clear()
    opt.state[ps[1]]["step"] = xpnn.tensor(7.0, backend="array_api_strict:device1")
    topt.state[ts[1]]["step"] = torch.tensor(7.0)
    step_ours(ps, opt, grads[4:])
    step_theirs(ts, topt, grads[4:])
    assert len(reads) == 1
    assert [opt.state[p]["step"].item() for p in ps] == [14.0, 9.0]
    assert_params(ps, ts, "Adam with steps set by hand")
