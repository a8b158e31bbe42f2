"""Resuming a PyTorch run in xpnn: each PyTorch object is trained a few steps, its
``state_dict()`` written by ``torch.save`` (to memory) and read by ``xpnn.load``, loaded into
the xpnn twin built with the same constructor arguments, and both take K more steps on the
same data: parameters, optimizer state and learning rates must stay PyTorch's.

Covered: every optimizer torch.optim and xpnn.optim share (two param groups with different
rates where torch allows them; slots on the numpy and torch backends), every LR scheduler,
amp.GradScaler, swa_utils.AveragedModel and SWALR, and model state dicts with buffers, tied
weights, float16/bfloat16 parameters, non-persistent buffers, parametrizations,
weight_norm (both forms), spectral_norm and pruning buffers, and an explicit
``_use_new_zipfile_serialization=True``. MultiStepLR's milestones are a
``collections.Counter`` in the file (torch's weights_only loader allows it; so does xpnn's).

The same in both: LambdaLR/MultiplicativeLR save ``None`` for a plain function (only a
callable object's ``__dict__`` is saved and restored), so each keeps the function the twin
was built with.

Differences left, each with its reason:
- CosineAnnealingWarmRestarts' ``_step_count``: torch's own ``step()`` never counts (it
  stays 0); xpnn counts. Nothing reads it in that class (tests/test_optim_surface.py).
- LBFGS: torch's state holds Tensors (``d``, ``old_dirs``, ``ro``, ``H_diag``, ...), xpnn's
  flat raw arrays and Python floats (lbfgs.py's choice: its host reads stay in one place);
  the values are compared. Its curvature pairs are compared loosely after more steps:
  near the minimum they are differences of nearly equal float32 gradients, and an
  uninterrupted run drifts from torch's as much.
- Muon: torch orthogonalizes in bfloat16, xpnn in the parameter's dtype; torch's
  Newton-Schulz is swapped for its float32 form here (as tests/test_nn_gaps.py does).
"""
import importlib
import io
import math

import numpy as np
import pytest

import xpnn
from conftest import to_np

torch = pytest.importorskip("torch")

TOL = 2e-5  # float32 trajectories: the same formulas, in a few different operation orders
N_BEFORE, K_AFTER = 3, 3


def _resumed(obj, **load_kw):
    """``obj`` through torch.save and xpnn.load, as a checkpoint file would carry it."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return xpnn.load(buf, **load_kw)


def _close(got, want, what, tol=TOL):
    want = want.detach().float().numpy() if isinstance(want, torch.Tensor) else want
    got = to_np(got.float() if isinstance(got, xpnn.Tensor) else got)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), rtol=tol, atol=tol,
                               err_msg=what)


def _same_groups(opt, topt, what):
    """Every hyperparameter torch keeps in a param group, with torch's value (the rates
    above all)."""
    for i, (g, tg) in enumerate(zip(opt.state_dict()["param_groups"],
                                    topt.state_dict()["param_groups"])):
        for key, want in tg.items():
            if key == "params":
                continue
            assert key in g, f"{what}: group {i} lacks {key!r}"
            got = g[key]
            if isinstance(want, float) or isinstance(got, float):
                assert math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-12), \
                    f"{what}: group {i} {key}: {got} != {want}"
            elif isinstance(want, tuple):
                assert list(got) == list(want), f"{what}: group {i} {key}: {got} != {want}"
            elif not isinstance(want, torch.Tensor):
                assert got == want, f"{what}: group {i} {key}: {got!r} != {want!r}"


def _same_state(opt, topt, what, tol=TOL):
    """The same slots per parameter, each with torch's values (a list slot, LBFGS's
    history, element by element)."""
    mine, theirs = opt.state_dict()["state"], topt.state_dict()["state"]
    assert sorted(mine) == sorted(theirs), what
    for idx, slots in theirs.items():
        assert sorted(mine[idx]) == sorted(slots), f"{what}: param {idx} slots"
        for slot, want in slots.items():
            got = mine[idx][slot]
            if isinstance(want, list):
                assert len(got) == len(want), f"{what}: {slot}"
                for j, (a, b) in enumerate(zip(got, want)):
                    _close(a, b, f"{what}: param {idx} {slot}[{j}]", tol)
            elif want is None:
                assert got is None, f"{what}: {slot}"
            else:
                _close(got, want, f"{what}: param {idx} {slot}", tol)


# ----------------------------------------------------------------------------------------
# optimizers: two param groups, the second at half the first's rate

OPT_CASES = [
    ("SGD", 0.1, dict(momentum=0.9)),
    ("SGD", 0.05, dict(momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("SGD", 0.1, dict(momentum=0.9, dampening=0.1, maximize=True)),
    ("Adam", 1e-2, {}),
    ("Adam", 1e-2, dict(amsgrad=True, weight_decay=0.1)),
    ("AdamW", 1e-2, dict(weight_decay=0.1)),
    ("AdamW", 1e-2, dict(amsgrad=True)),
    ("NAdam", 1e-2, {}),
    ("NAdam", 1e-2, dict(decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", 1e-2, {}),
    ("RAdam", 1e-2, dict(decoupled_weight_decay=True, weight_decay=0.1)),
    ("Adamax", 1e-2, dict(weight_decay=0.05)),
    ("Adadelta", 0.5, dict(rho=0.8)),
    ("Adagrad", 0.1, dict(lr_decay=0.1, initial_accumulator_value=0.5)),
    ("RMSprop", 1e-2, dict(momentum=0.5, centered=True)),
    ("RMSprop", 1e-2, dict(alpha=0.9)),
    ("ASGD", 0.05, dict(lambd=1e-2, t0=2)),
    ("Rprop", 0.05, dict(etas=(0.4, 1.3))),
    ("Adafactor", 1e-2, {}),
    ("Adafactor", 1e-2, dict(weight_decay=0.1, beta2_decay=-0.6)),
    ("Muon", 1e-2, dict(momentum=0.9)),
]
OPT_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, _, kw in OPT_CASES]


def _problem(shapes, steps):
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(s).astype("float32") for s in shapes]
    grads = [[rng.standard_normal(s).astype("float32") for s in shapes] for _ in range(steps)]
    return params, grads


def _groups(ps, lr):
    return [{"params": [ps[0]]}, {"params": ps[1:], "lr": lr / 2}]


def _step(lib, ps, opt, grads):
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = torch.tensor(g) if lib is torch else xpnn.tensor(g, backend=p.backend)
        opt.step()


# where the xpnn parameters live, and where xpnn.load puts the file's tensors
PLACES = {"numpy": ("numpy", None), "torch": ("torch", "torch"),
          "file-on-numpy-params-on-torch": ("torch", None)}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("name,lr,kw", OPT_CASES, ids=OPT_IDS)
def test_optimizer_resumes_from_torch(name, lr, kw, place, monkeypatch):
    backend, map_location = PLACES[place]
    shapes = [(3, 4), (5,)]
    if name == "Muon":  # matrices only; torch's bfloat16 Newton-Schulz made float32, as ours
        import torch.optim._muon as tmuon
        from torch_same import ns_float32
        monkeypatch.setattr(tmuon, "_zeropower_via_newtonschulz", ns_float32)
        shapes = [(3, 4), (4, 2)]
    params, grads = _problem(shapes, N_BEFORE + K_AFTER)
    ts = [torch.nn.Parameter(torch.tensor(p)) for p in params]
    topt = getattr(torch.optim, name)(_groups(ts, lr), lr=lr, **kw)
    _step(torch, ts, topt, grads[:N_BEFORE])
    saved = _resumed(topt.state_dict(), map_location=map_location)
    ps = [xpnn.nn.Parameter(xpnn.tensor(t.detach().numpy().copy(), backend=backend))
          for t in ts]
    opt = getattr(xpnn.optim, name)(_groups(ps, lr), lr=lr, **kw)
    opt.load_state_dict(saved)
    _same_state(opt, topt, f"{name} loaded")
    for p in ps:  # every slot where its parameter is (counts may stay in host memory)
        for slot, value in opt.state[p].items():
            if isinstance(value, xpnn.Tensor) and value.ndim:
                assert value.backend == backend, f"{name}: {slot} on {value.backend}"
    for k in range(N_BEFORE, N_BEFORE + K_AFTER):
        _step(torch, ts, topt, grads[k:k + 1])
        _step(xpnn, ps, opt, grads[k:k + 1])
        for i, (p, t) in enumerate(zip(ps, ts)):
            _close(p, t, f"{name} step {k + 1}: param {i}")
    _same_state(opt, topt, f"{name} after {K_AFTER} more steps")
    _same_groups(opt, topt, name)


def _lbfgs_loss(lib, ps):
    w = lib.tensor(np.linspace(0.5, 2.0, 12, dtype="float32").reshape(3, 4))
    return (w * ps[0] ** 2).sum() + ((ps[1] - 0.5) ** 4).sum() + (ps[0].sum() * ps[1].sum())


@pytest.mark.parametrize("kw", [{}, dict(line_search_fn="strong_wolfe", history_size=3)],
                         ids=["plain", "strong_wolfe"])
def test_lbfgs_resumes_from_torch(kw):
    """LBFGS (one param group: torch refuses per-group options): its history (directions,
    steps, the last gradient and loss) crosses over and the next steps follow torch."""
    params, _ = _problem([(3, 4), (5,)], 0)
    ts = [torch.nn.Parameter(torch.tensor(p)) for p in params]
    topt = torch.optim.LBFGS(ts, lr=0.5, max_iter=4, **kw)

    def closure(lib, ps, opt):
        def run():
            opt.zero_grad()
            loss = _lbfgs_loss(lib, ps)
            loss.backward()
            return loss
        return run

    for _ in range(2):
        topt.step(closure(torch, ts, topt))
    saved = _resumed(topt.state_dict())
    ps = [xpnn.nn.Parameter(xpnn.tensor(t.detach().numpy().copy())) for t in ts]
    opt = xpnn.optim.LBFGS(ps, lr=0.5, max_iter=4, **kw)
    opt.load_state_dict(saved)
    _same_state(opt, topt, "LBFGS loaded", tol=1e-6)
    for k in range(2):
        topt.step(closure(torch, ts, topt))
        opt.step(closure(xpnn, ps, opt))
        for i, (p, t) in enumerate(zip(ps, ts)):
            _close(p, t, f"LBFGS step {k + 3}: param {i}", tol=1e-4)
    # near the minimum the curvature pairs are differences of nearly equal float32
    # gradients: an uninterrupted run drifts from torch's by ~1e-2 there too
    _same_state(opt, topt, "LBFGS after 2 more steps", tol=3e-2)
    _same_groups(opt, topt, "LBFGS")


def test_sparse_adam_resumes_from_torch():
    """SparseAdam over two sparse embedding tables (two groups, different rates): rows the
    batches touch move as torch's, the others keep still."""
    rng = np.random.default_rng(5)
    tables = [rng.standard_normal((10, 3)).astype("float32"),
              rng.standard_normal((7, 2)).astype("float32")]
    ids = [[rng.integers(0, n, size=6) for n in (10, 7)] for _ in range(N_BEFORE + K_AFTER)]

    def build(lib):
        embs = [lib.nn.Embedding(n, d, sparse=True) for n, d in ((10, 3), (7, 2))]
        with lib.no_grad():
            for e, t in zip(embs, tables):
                e.weight.copy_(lib.tensor(t))
        opt = lib.optim.SparseAdam([{"params": embs[0].parameters()},
                                    {"params": embs[1].parameters(), "lr": 5e-3}], lr=1e-2)
        return embs, opt

    def step(lib, embs, opt, batch):
        opt.zero_grad()
        loss = sum((e(lib.tensor(i)) ** 2).sum() for e, i in zip(embs, batch))
        loss.backward()
        opt.step()

    tembs, topt = build(torch)
    for batch in ids[:N_BEFORE]:
        step(torch, tembs, topt, batch)
    saved = _resumed({"model": [e.state_dict() for e in tembs], "opt": topt.state_dict()})
    embs, opt = build(xpnn)
    for e, sd in zip(embs, saved["model"]):
        e.load_state_dict(sd)
    opt.load_state_dict(saved["opt"])
    for batch in ids[N_BEFORE:]:
        step(torch, tembs, topt, batch)
        step(xpnn, embs, opt, batch)
    for i, (e, t) in enumerate(zip(embs, tembs)):
        _close(e.weight, t.weight, f"SparseAdam table {i}")
    _same_state(opt, topt, "SparseAdam")
    _same_groups(opt, topt, "SparseAdam")


# ----------------------------------------------------------------------------------------
# LR schedulers: SGD with momentum (CyclicLR and OneCycleLR cycle it), two groups


def _ratio(e):
    return 0.9 ** e


class _Halving:
    """A callable object: torch saves its ``__dict__``, so its state crosses over."""

    def __init__(self, every):
        self.every, self.calls = every, 0

    def __call__(self, e):
        self.calls += 1
        return 0.5 ** (e // self.every)


SCHEDULERS = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=2, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[2, 5, 6], gamma=0.3),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=5, eta_min=1e-3),
    "CyclicLR-triangular2": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.005],
                                                    max_lr=[0.1, 0.05], step_size_up=2,
                                                    mode="triangular2"),
    "CyclicLR-exp_range": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                  step_size_up=3, step_size_down=2,
                                                  mode="exp_range", gamma=0.9),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=12),
    "OneCycleLR-linear-3phase": lambda S, o: S.OneCycleLR(
        o, max_lr=0.1, total_steps=12, anneal_strategy="linear", three_phase=True),
    "ReduceLROnPlateau": lambda S, o: S.ReduceLROnPlateau(o, patience=1, factor=0.5,
                                                          cooldown=1, threshold=0.05),
    "LambdaLR-function": lambda S, o: S.LambdaLR(o, lr_lambda=_ratio),
    "LambdaLR-lambdas": lambda S, o: S.LambdaLR(o, lr_lambda=[lambda e: 1 / (e + 1), _ratio]),
    "LambdaLR-object": lambda S, o: S.LambdaLR(o, lr_lambda=_Halving(2)),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.9)],
        milestones=[4]),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=4), S.ExponentialLR(o, gamma=0.9)]),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=2, T_mult=2, eta_min=1e-3),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=8, power=2.0),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.25, total_iters=5),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.3, total_iters=5),
}
LOSSES = [1.0, 0.9, 0.89, 0.88, 0.88, 0.87, 0.7, 0.69, 0.69, 0.69, 0.6, 0.6]


def _sched_run(lib, name):
    ps = [lib.nn.Parameter(lib.tensor(np.ones(s, dtype="float32"))) for s in [(2, 2), (3,)]]
    opt = lib.optim.SGD(_groups(ps, 0.1), lr=0.1, momentum=0.9)
    return ps, opt, SCHEDULERS[name](lib.optim.lr_scheduler, opt)


def _sched_step(lib, ps, opt, sched, k):
    for p in ps:
        p.grad = lib.ones_like(p) * 0.1
    opt.step()
    if isinstance(sched, lib.optim.lr_scheduler.ReduceLROnPlateau):
        sched.step(LOSSES[k])
    else:
        sched.step()


def _plain(v):
    return float(v) if isinstance(v, (float, int)) and not isinstance(v, bool) else v


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_resumes_from_torch(name):
    """torch's optimizer and scheduler state dicts, saved together after 5 steps, load into
    the twin; 7 more steps set torch's rates (and momenta), and both state dicts agree."""
    ts, topt, tsched = _sched_run(torch, name)
    for k in range(5):
        _sched_step(torch, ts, topt, tsched, k)
    saved = _resumed({"optimizer": topt.state_dict(), "scheduler": tsched.state_dict()})
    ps, opt, sched = _sched_run(xpnn, name)
    with torch.no_grad():
        for p, t in zip(ps, ts):
            p.data = xpnn.tensor(t.detach().numpy().copy())
    opt.load_state_dict(saved["optimizer"])
    sched.load_state_dict(saved["scheduler"])
    for k in range(5, 12):
        _sched_step(torch, ts, topt, tsched, k)
        _sched_step(xpnn, ps, opt, sched, k)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12,
                                   atol=1e-15, err_msg=f"{name} step {k + 1}")
        _same_groups(opt, topt, f"{name} step {k + 1}")
    for p, t in zip(ps, ts):
        _close(p, t, f"{name}: parameters")
    mine, theirs = sched.state_dict(), tsched.state_dict()
    for key, want in theirs.items():
        assert key in mine, f"{name}: the state dict lacks {key!r}"
        if key in ("lr_lambdas", "_schedulers", "best", "_last_lr", "base_lrs"):
            continue  # compared below or above
        if (name, key) == ("CosineAnnealingWarmRestarts", "_step_count"):
            continue  # torch's step() of this class never counts (test_optim_surface.py)
        got = mine[key]
        if isinstance(want, float):
            assert math.isclose(got, want, rel_tol=1e-12), f"{name} {key}: {got} != {want}"
        elif not callable(want):
            assert _plain(got) == _plain(want), f"{name} {key}: {got!r} != {want!r}"
    if "lr_lambdas" in theirs:  # None for a function, the __dict__ of a callable object
        assert [None if d is None else dict(d) for d in mine["lr_lambdas"]] == \
            theirs["lr_lambdas"], name
    if "best" in theirs:
        assert math.isclose(mine["best"], theirs["best"]), name


# ----------------------------------------------------------------------------------------
# amp.GradScaler, swa_utils.AveragedModel and SWALR

_DATA = np.random.default_rng(11)
X = _DATA.standard_normal((10, 8, 4)).astype("float32")
Y = _DATA.standard_normal((10, 8, 2)).astype("float32")


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))


def _same_module_state(m, tm, what, tol=TOL):
    mine, theirs = m.state_dict(), tm.state_dict()
    assert list(mine) == list(theirs), what
    for key, want in theirs.items():
        got = mine[key]
        assert str(got.dtype).rpartition(".")[2] == str(want.dtype).rpartition(".")[2], \
            f"{what}: {key} dtype"
        assert tuple(got.shape) == tuple(want.shape), f"{what}: {key} shape"
        _close(got, want, f"{what}: {key}", tol)


def test_grad_scaler_resumes_from_torch():
    """A dynamic loss scale mid-run (grown after clean steps, backed off after an overflow)
    crosses over with its growth tracker: the twin skips and grows where torch does."""
    bad = {1, 5, 6}  # steps whose loss is made infinite: skipped, the scale backs off

    def run(lib, model, opt, scaler, k):
        opt.zero_grad()
        loss = lib.nn.functional.mse_loss(model(lib.tensor(X[k])), lib.tensor(Y[k]))
        scaler.scale(loss * (math.inf if k in bad else 1.0)).backward()
        scaler.step(opt)
        scaler.update()

    def build(lib):
        model = lib.nn.Linear(4, 2)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, opt, lib.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=2)

    tm, topt, tsc = build(torch)
    for k in range(4):
        run(torch, tm, topt, tsc, k)
    saved = _resumed({"model": tm.state_dict(), "optimizer": topt.state_dict(),
                      "scaler": tsc.state_dict()})
    m, opt, sc = build(xpnn)
    m.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optimizer"])
    sc.load_state_dict(saved["scaler"])
    assert sc.state_dict() == tsc.state_dict()
    for k in range(4, 10):
        run(torch, tm, topt, tsc, k)
        run(xpnn, m, opt, sc, k)
        assert sc.get_scale() == tsc.get_scale(), f"step {k + 1}"
        _same_module_state(m, tm, f"step {k + 1}")
    assert sc.state_dict() == tsc.state_dict()


AVERAGES = {"swa": dict(), "swa-buffers": dict(use_buffers=True),
            "ema-buffers": dict(use_buffers=True, ema=0.9)}


@pytest.mark.parametrize("case", list(AVERAGES))
def test_averaged_model_and_swalr_resume_from_torch(case):
    """AveragedModel's state dict (``module.*`` and ``n_averaged``) and SWALR's, saved
    mid-averaging and mid-annealing, continue as torch's: the averages, BatchNorm's
    statistics and the annealed rates."""
    kw = dict(AVERAGES[case])
    ema = kw.pop("ema", None)

    def build(lib):
        swa_utils = lib.optim.swa_utils
        model = _mlp(lib)
        opt = lib.optim.SGD(_groups(list(model.parameters()), 0.1), lr=0.1, momentum=0.9)
        if ema is not None:
            kw["multi_avg_fn"] = swa_utils.get_ema_multi_avg_fn(ema)
        avg = swa_utils.AveragedModel(model, **kw)
        sched = swa_utils.SWALR(opt, swa_lr=[0.05, 0.02], anneal_epochs=4,
                                anneal_strategy="cos")
        return model, opt, avg, sched

    def run(lib, model, opt, avg, sched, k):
        opt.zero_grad()
        lib.nn.functional.mse_loss(model(lib.tensor(X[k])), lib.tensor(Y[k])).backward()
        opt.step()
        avg.update_parameters(model)
        sched.step()

    tm, topt, tavg, tsched = build(torch)
    for k in range(3):
        run(torch, tm, topt, tavg, tsched, k)
    saved = _resumed({"model": tm.state_dict(), "swa": tavg.state_dict(),
                      "optimizer": topt.state_dict(), "swalr": tsched.state_dict()})
    assert "n_averaged" in saved["swa"] and "module.1.running_mean" in saved["swa"]
    m, opt, avg, sched = build(xpnn)
    m.load_state_dict(saved["model"])
    avg.load_state_dict(saved["swa"])
    opt.load_state_dict(saved["optimizer"])
    sched.load_state_dict(saved["swalr"])
    _same_module_state(avg, tavg, f"{case} loaded", tol=0)
    for k in range(3, 9):
        run(torch, tm, topt, tavg, tsched, k)
        run(xpnn, m, opt, avg, sched, k)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12,
                                   err_msg=f"{case} step {k + 1}")
        _same_groups(opt, topt, f"{case} step {k + 1}")
    _same_module_state(m, tm, f"{case}: model")
    _same_module_state(avg, tavg, f"{case}: average")
    x = X[9]
    avg.eval()
    tavg.eval()
    _close(avg(xpnn.tensor(x)), tavg(torch.tensor(x)), f"{case}: the average's output")


# ----------------------------------------------------------------------------------------
# model state dicts: buffers, tied weights, half precision, non-persistent buffers,
# parametrizations, weight norms

IDS_DATA = _DATA.integers(0, 10, size=(10, 8))


def _tied(lib):
    class Tied(lib.nn.Module):
        """A language-model head tied to its embedding: one Parameter, two names."""

        def __init__(self):
            super().__init__()
            self.emb = lib.nn.Embedding(10, 4)
            self.out = lib.nn.Linear(4, 10, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, ids):
            return self.out(self.emb(ids))
    return Tied()


def _scaled(lib):
    class Scaled(lib.nn.Module):
        """A non-persistent buffer: not saved, kept by the twin as it was built."""

        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 2)
            self.register_buffer("scale", lib.tensor([0.5, 2.0]), persistent=False)
            self.register_buffer("calls", lib.zeros((), dtype=lib.int64))

        def forward(self, x):
            self.calls += 1
            return self.lin(x) * self.scale
    return Scaled()


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(0, 1)

    model = lib.nn.Sequential(lib.nn.Linear(4, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    lib.nn.utils.parametrize.register_parametrization(model[0], "weight", Symmetric())
    return model


def _weight_norm_new(lib):
    model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
    lib.nn.utils.parametrizations.weight_norm(model[0])
    lib.nn.utils.parametrizations.weight_norm(model[2], dim=None)
    return model


def _spectral(lib):
    """Power-iteration vectors as buffers (``_u``, ``_v``), moved by every training call."""
    model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
    lib.nn.utils.parametrizations.spectral_norm(model[0])
    lib.nn.utils.spectral_norm(model[2])  # the older hook: weight_orig, weight_u, weight_v
    return model


def _pruned(lib):
    """A pruning mask as a buffer (``weight_mask``) beside ``weight_orig``."""
    model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
    if lib is torch:
        prune = importlib.import_module("torch.nn.utils.prune")  # not imported by torch
        prune.random_unstructured(model[0], "weight", amount=0.4)
    else:  # the twin is pruned too; its mask comes from torch's file
        lib.nn.utils.prune.identity(model[0], "weight")
    return model


def _weight_norm_old(lib):
    model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
    with pytest.warns(FutureWarning, match="deprecated"):  # both deprecate it
        lib.nn.utils.weight_norm(model[0])
    return model


def _place(lib, dtype):
    """bfloat16 runs on xpnn's torch backend (NumPy has none)."""
    return {"backend": "torch"} if lib is xpnn and dtype == "bfloat16" else {}


def _half(dtype):
    def build(lib):
        model = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.ReLU(), lib.nn.Linear(6, 2))
        if _place(lib, dtype):
            model = model.to("torch")
        return model.to(getattr(lib, dtype))
    return build


def _mse(lib, model, k, dtype="float32"):
    x, y = (lib.tensor(a, **_place(lib, dtype)).to(getattr(lib, dtype)) for a in (X[k], Y[k]))
    return lib.nn.functional.mse_loss(model(x), y)


def _ce(lib, model, k):
    logits = model(lib.tensor(IDS_DATA[k]))
    return lib.nn.functional.cross_entropy(logits, lib.tensor(IDS_DATA[k][::-1].copy()))


# name: (build, loss, keys that must be in the saved dict (or, "-key", absent),
#        torch.save options, xpnn.load options, tolerance)
MODELS = {
    "batchnorm": (_mlp, _mse, ["1.running_mean", "1.running_var", "1.num_batches_tracked"],
                  {}, {}, TOL),
    "new_zipfile": (_mlp, _mse, ["1.num_batches_tracked"],
                    dict(_use_new_zipfile_serialization=True), {}, TOL),
    "tied": (_tied, _ce, ["emb.weight", "out.weight"], {}, {}, TOL),
    "non_persistent": (_scaled, _mse, ["calls", "-scale"], {}, {}, TOL),
    "parametrize": (_symmetric, _mse, ["0.parametrizations.weight.original", "-0.weight"],
                    {}, {}, TOL),
    "weight_norm": (_weight_norm_new, _mse, ["0.parametrizations.weight.original0",
                                             "0.parametrizations.weight.original1",
                                             "2.parametrizations.weight.original0"],
                    {}, {}, TOL),
    "weight_norm_old": (_weight_norm_old, _mse, ["0.weight_g", "0.weight_v", "-0.weight"],
                        {}, {}, TOL),
    "spectral_norm": (_spectral, _mse, ["0.parametrizations.weight.0._u", "2.weight_u",
                                        "2.weight_orig"], {}, {}, TOL),
    "pruned": (_pruned, _mse, ["0.weight_mask", "0.weight_orig", "-0.weight"], {}, {}, TOL),
    # one float16 rounding (2^-11) per operation: a few per step
    "float16": (_half("float16"), lambda lib, m, k: _mse(lib, m, k, "float16"), ["0.weight"],
                {}, {}, 4e-3),
    # bfloat16 (2^-8): on the torch backend only (NumPy has no bfloat16; test_torch_zip.py)
    "bfloat16": (_half("bfloat16"), lambda lib, m, k: _mse(lib, m, k, "bfloat16"),
                 ["0.weight"], {}, dict(map_location="torch"), 3e-2),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_state_dict_resumes_from_torch(name):
    """A trained PyTorch model's state dict (and its SGD's) loads strictly into the twin; 4
    more training steps give torch's parameters and buffers, dtypes included."""
    build, loss_fn, keys, save_kw, load_kw, tol = MODELS[name]
    torch.manual_seed(0)
    tm = build(torch)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)

    def run(lib, model, opt, k):
        opt.zero_grad()
        loss_fn(lib, model, k).backward()
        opt.step()

    for k in range(3):
        run(torch, tm, topt, k)
    buf = io.BytesIO()
    torch.save({"model": tm.state_dict(), "optimizer": topt.state_dict()}, buf, **save_kw)
    buf.seek(0)
    saved = xpnn.load(buf, **load_kw)
    for key in keys:
        assert (key[1:] not in saved["model"]) if key[0] == "-" else key in saved["model"], \
            f"{name}: {key}"
    assert list(saved["model"]) == list(tm.state_dict())
    m = build(xpnn)
    opt = xpnn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    result = m.load_state_dict(saved["model"])
    assert not result.missing_keys and not result.unexpected_keys
    opt.load_state_dict(saved["optimizer"])
    _same_module_state(m, tm, f"{name} loaded", tol=0)
    for k in range(3, 7):
        run(torch, tm, topt, k)
        run(xpnn, m, opt, k)
    _same_module_state(m, tm, f"{name} after 4 more steps", tol=tol)
    _same_state(opt, topt, name, tol=tol)
    if name == "tied":
        assert m.out.weight is m.emb.weight
    if name == "non_persistent":
        np.testing.assert_array_equal(to_np(m.scale), [0.5, 2.0])
