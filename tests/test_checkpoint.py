"""Checkpoints: stop-and-resume equals an uninterrupted run (bit for bit on NumPy), with a
hand-written loop and with fit(resume_from=); every part round-trips; bad files change
nothing; fit stops or skips on a non-finite gradient. (SIGKILL mid-save: test_io.py.)

Run as a script, this file is also the child process of the resume test:
    python tests/test_checkpoint.py resume CKPT OUT  (resumes a run, saves final weights)
"""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from xpnn import nn
from xpnn.io import CheckpointError
from conftest import BACKENDS, needs_torch

HERE = Path(__file__).resolve()
EPS32 = float(np.finfo(np.float32).eps)


# -- a small run with every source of state: init, dropout, shuffling, momentum, schedule ----
class TinyMomentum:
    """SGD with momentum speaking the optimizer state_dict protocol (independent of
    xpnn.optim, so this file tests the checkpoint, not an optimizer)."""

    def __init__(self, params, lr=0.1, momentum=0.9):
        self.params, self.lr, self.momentum, self.state, self.steps = list(params), lr, \
            momentum, {}, 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.steps += 1
        for i, p in enumerate(self.params):
            v = self.state.get(i, {}).get("v")
            v = p.grad.array if v is None else self.momentum * v + p.grad.array
            self.state[i] = {"v": v, "n": self.state.get(i, {}).get("n", 0) + 1}
            p.array = p.array - self.lr * v

    def state_dict(self):
        return {"state": {i: dict(s) for i, s in self.state.items()},
                "param_groups": [{"lr": self.lr, "momentum": self.momentum,
                                  "steps": self.steps,
                                  "params": list(range(len(self.params)))}]}

    def load_state_dict(self, sd):
        (group,) = sd["param_groups"]
        if len(group["params"]) != len(self.params):
            raise ValueError(f"{len(group['params'])} params saved, {len(self.params)} here")
        self.lr, self.momentum, self.steps = group["lr"], group["momentum"], group["steps"]
        self.state = {i: dict(s) for i, s in sd["state"].items()}


class TinyStepLR:
    def __init__(self, opt, gamma=0.5):
        self.opt, self.gamma, self.last_epoch = opt, gamma, 0

    def step(self):
        self.last_epoch += 1
        self.opt.lr *= self.gamma

    def state_dict(self):
        return {"gamma": self.gamma, "last_epoch": self.last_epoch}

    def load_state_dict(self, sd):
        self.gamma, self.last_epoch = sd["gamma"], sd["last_epoch"]


def make_run(backend, seed=0, optimizer=None):
    xpnn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16, backend=backend), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 3, backend=backend))
    opt = (optimizer or TinyMomentum)(model.parameters(), lr=0.1)
    return model, opt, TinyStepLR(opt) if optimizer is None else None


def data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((48, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)


def train(model, opt, sched, start, stop, batch=16):
    X, y = data()
    be = next(model.parameters())._be
    for _ in range(start, stop):
        model.train()
        order = xpnn.to_numpy(be.permutation(len(X)))  # the backend's generator shuffles
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(xpnn.tensor(X[idx], backend=be.name)),
                                   xpnn.tensor(y[idx], backend=be.name))
            opt.zero_grad()
            loss.backward()
            opt.step()
        if sched is not None:
            sched.step()


def weights(model):
    return {k: xpnn.to_numpy(v).copy() for k, v in model.state_dict().items()}


def assert_same(a, b, exact):
    assert a.keys() == b.keys()
    for k in a:
        if exact:
            assert np.array_equal(a[k], b[k]), k
        else:  # other BLAS/threading orders may round differently; a few steps of drift
            np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e3 * EPS32, err_msg=k)


def perturb(backend):
    """What a fresh process would do before resuming: seed differently, draw numbers."""
    xpnn.manual_seed(999)
    xpnn.get_backend(backend).uniform((5,), "float32")
    xpnn.backend.host_rng().random(3)


# -- stop and resume ---------------------------------------------------------------------------
def test_stop_and_resume_equals_uninterrupted(tmp_path, backend):
    model, opt, sched = make_run(backend)
    train(model, opt, sched, 0, 4)
    want = weights(model)

    model, opt, sched = make_run(backend)
    train(model, opt, sched, 0, 2)
    path = xpnn.save_checkpoint(tmp_path / "ckpt.safetensors", model, opt, sched, epoch=2,
                                step=opt.steps, extra={"note": "half way"})
    perturb(backend)
    model, opt, sched = make_run(backend, seed=5)  # a different init, overwritten by load
    info = xpnn.load_checkpoint(path, model, opt, sched)
    assert info == {"epoch": 2, "step": 6, "extra": {"note": "half way"}}
    assert opt.steps == 6 and sched.last_epoch == 2 and opt.lr == pytest.approx(0.025)
    train(model, opt, sched, info["epoch"], 4)
    assert_same(weights(model), want, exact=backend == "numpy")


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    model, opt, sched = make_run("numpy")
    train(model, opt, sched, 0, 4)
    want = weights(model)
    model, opt, sched = make_run("numpy")
    train(model, opt, sched, 0, 1)
    ckpt = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, epoch=1)
    out = tmp_path / "final.safetensors"
    subprocess.run([sys.executable, str(HERE), "resume", ckpt, str(out)], check=True,
                   timeout=120)
    assert_same(xpnn.load_file(out, backend="numpy"), want, exact=True)


def test_resume_with_xpnn_adam(tmp_path, backend):
    optim = pytest.importorskip("xpnn.optim")
    if not hasattr(optim, "Adam"):
        pytest.skip("xpnn.optim.Adam is not exported yet")
    model, opt, _ = make_run(backend, optimizer=optim.Adam)
    train(model, opt, None, 0, 3)
    want = weights(model)
    model, opt, _ = make_run(backend, optimizer=optim.Adam)
    train(model, opt, None, 0, 1)
    path = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, opt, epoch=1)
    perturb(backend)
    model, opt, _ = make_run(backend, seed=3, optimizer=optim.Adam)
    xpnn.load_checkpoint(path, model, opt)
    train(model, opt, None, 1, 3)
    assert_same(weights(model), want, exact=backend == "numpy")


@pytest.mark.parametrize("dst", [pytest.param("torch", marks=needs_torch), "array_api_strict"])
def test_checkpoint_loads_onto_another_backend(tmp_path, dst):
    model, opt, sched = make_run("numpy")
    train(model, opt, sched, 0, 1)
    path = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, epoch=1)
    model2, opt2, sched2 = make_run("numpy", seed=4)
    xpnn.load_checkpoint(path, model2, opt2, sched2, backend=dst)
    assert {p.backend for p in model2.parameters()} == {dst}
    assert {xpnn.backend.backend_of(s["v"]).name for s in opt2.state.values()} == {dst}
    assert_same(weights(model2), weights(model), exact=True)


# -- fit(resume_from=) -------------------------------------------------------------------------
def fit_run(backend, ckpt, epochs, resume=None, loader_seed=None):
    """fit with Adam, a StepLR stepped by a callback, dropout and a shuffling DataLoader,
    checkpointing every epoch (callback order: the schedule steps before the save)."""
    from xpnn.callbacks import LearningRateScheduler, ModelCheckpoint
    xpnn.manual_seed(0 if resume is None else 77)  # a resumed run starts from other weights
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 3)).to(backend)
    opt = xpnn.optim.Adam(model.parameters(), lr=0.01)
    sched = xpnn.optim.StepLR(opt, step_size=1, gamma=0.5)
    X, y = data()
    loader = xpnn.data.DataLoader(X, y, batch_size=16, shuffle=True, backend=backend,
                                  seed=loader_seed)
    cbs = [LearningRateScheduler(sched), ModelCheckpoint(ckpt, save_optimizer=True,
                                                         scheduler=sched)]
    hist = xpnn.fit(model, loader, loss=F.cross_entropy, optimizer=opt, epochs=epochs,
                    metrics=(), callbacks=cbs, progress=False, resume_from=resume)
    return model, opt, sched, hist


@pytest.mark.parametrize("loader_seed", [None, 123])
def test_fit_resume_from_equals_uninterrupted(tmp_path, backend, loader_seed):
    if not hasattr(xpnn, "fit"):
        pytest.skip("xpnn.fit is not available yet")
    full, _, _, h_full = fit_run(backend, str(tmp_path / "full.st"), 4, loader_seed=loader_seed)
    ckpt = str(tmp_path / "half.st")
    fit_run(backend, ckpt, 2, loader_seed=loader_seed)  # "crashes" after epoch 2
    model, opt, sched, hist = fit_run(backend, ckpt, 4, resume=ckpt, loader_seed=loader_seed)
    assert hist.epoch == [2, 3] and sched.last_epoch == 4
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 4)
    assert hist["loss"] == pytest.approx(h_full["loss"][2:], rel=1e-6)
    assert_same(weights(model), weights(full), exact=backend == "numpy")
    assert xpnn.load_checkpoint(ckpt, model)["step"] == 4 * 3  # 48 samples / 16 per step


class SqrtModel(nn.Module):
    """out = sqrt(x + b) with b = 0: the loss is finite, but d out/d b = inf where x == 0."""

    def __init__(self):
        super().__init__()
        self.b = nn.module.new_parameter((1,))

    def forward(self, x):
        return F.sqrt(x + self.b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy: divide by zero, on purpose
def test_fit_stops_or_skips_on_a_non_finite_gradient():
    if not hasattr(xpnn, "fit"):
        pytest.skip("xpnn.fit is not available yet")
    X = np.ones((8, 1), np.float32)
    X[0] = 0.0  # in the first batch (later, b < 0 makes the loss itself NaN there)
    loader = xpnn.data.DataLoader(X, np.zeros(8), batch_size=2)

    def mean(out, y):
        return out.mean()
    model = SqrtModel()
    opt = xpnn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(xpnn.NonFiniteLossError,
                       match="gradient of parameter 'b' is NaN/Inf at epoch 1 of 1, step 1 "):
        xpnn.fit(model, loader, loss=mean, optimizer=opt, metrics=(), progress=False)
    model = SqrtModel()
    opt = xpnn.optim.SGD(model.parameters(), lr=0.1)
    hist = xpnn.fit(model, loader, loss=mean, optimizer=opt, epochs=2, metrics=(),
                    progress=False, on_nonfinite="skip")
    assert hist["skipped"] == [1, 1] and np.isfinite(model.b.numpy()).all()


# -- every part round-trips --------------------------------------------------------------------
def test_nested_extra_state_round_trips(tmp_path):
    extra = {"best": math.inf, "hist": [1.5, -math.inf], "pair": (1, "a"), 3: "int key",
             "$dollar": None, "arr": np.arange(6, dtype=np.int32).reshape(2, 3),
             "scalar": np.float32(2.5), "flag": True, "nested": {"t": xpnn.tensor([1.0, 2.0])}}
    model, _, _ = make_run("numpy")
    path = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, extra=extra, step=11)
    got = xpnn.load_checkpoint(path, make_run("numpy", seed=1)[0])
    assert got["step"] == 11 and got["epoch"] == 0
    g = got["extra"]
    assert g["best"] == math.inf and g["hist"] == [1.5, -math.inf] and g["pair"] == (1, "a")
    assert g[3] == "int key" and g["$dollar"] is None and g["flag"] is True
    assert g["arr"].dtype == np.int32 and np.array_equal(g["arr"], extra["arr"])
    assert type(g["scalar"]) is np.float32 and g["scalar"] == 2.5
    assert np.array_equal(g["nested"]["t"], np.float32([1, 2]))
    nan = xpnn.load_checkpoint(xpnn.save_checkpoint(tmp_path / "n", model,
                                                    extra=[math.nan]), model)["extra"]
    assert math.isnan(nan[0])


def test_rng_states_of_every_backend_are_restored(tmp_path):
    model, _, _ = make_run("numpy")
    names = [b for b in BACKENDS if b in ("numpy", "torch", "array_api_strict")]
    for name in names:
        xpnn.get_backend(name).uniform((3,), "float32")
    path = xpnn.save_checkpoint(tmp_path / "c.safetensors", model)
    want = [xpnn.to_numpy(xpnn.get_backend(n).uniform((4,), "float32"))
            for n in names] + [xpnn.backend.host_rng().random()]
    perturb(names[-1])
    xpnn.load_checkpoint(path, model)
    got = [xpnn.to_numpy(xpnn.get_backend(n).uniform((4,), "float32"))
           for n in names] + [xpnn.backend.host_rng().random()]
    for a, b in zip(want, got):
        assert np.array_equal(a, b)


def test_checkpoint_is_plain_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    model, opt, sched = make_run("numpy")
    train(model, opt, sched, 0, 1)
    path = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, epoch=1)
    tensors = st.load_file(path)
    assert np.array_equal(tensors["model.0.weight"], xpnn.to_numpy(model[0].weight.array))
    assert "optimizer.state.0.v" in tensors
    assert xpnn.io.read_metadata(path)["format"] == "xpnn.checkpoint"


@needs_torch
def test_xpnn_load_reads_a_checkpoint_as_a_dict(tmp_path):
    model, opt, sched = make_run("numpy")
    train(model, opt, sched, 0, 1)
    path = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, epoch=1,
                                step=opt.steps, extra={"note": "x"})
    got = xpnn.load(path, map_location="torch")
    assert (got["epoch"], got["step"], got["extra"]) == (1, 3, {"note": "x"})
    assert list(got["model"]) == list(model.state_dict())
    assert all(t.backend == "torch" for t in got["model"].values())
    assert_same({k: t.numpy() for k, t in got["model"].items()}, weights(model), exact=True)
    model2, opt2, sched2 = make_run("numpy", seed=4)
    model2.load_state_dict(got["model"])
    opt2.load_state_dict(got["optimizer"])
    sched2.load_state_dict(got["scheduler"])
    assert opt2.steps == 3 and sched2.last_epoch == 1 and set(opt2.state) == {0, 1, 2, 3}


# -- bad input changes nothing -----------------------------------------------------------------
def snapshot(model, opt):
    return weights(model), {i: xpnn.to_numpy(s["v"]).copy() for i, s in opt.state.items()}, \
        opt.lr, xpnn.get_rng_state()["host"]


def assert_unchanged(before, model, opt):
    w, v, lr, host = snapshot(model, opt)
    assert_same(w, before[0], exact=True)
    assert v.keys() == before[1].keys() and all(np.array_equal(v[i], before[1][i]) for i in v)
    assert lr == before[2] and host == before[3]


def test_optimizer_mismatch_rolls_everything_back(tmp_path):
    model, opt, sched = make_run("numpy")
    train(model, opt, sched, 0, 1)
    path = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, epoch=1)
    model2, opt2, sched2 = make_run("numpy", seed=2)
    train(model2, opt2, sched2, 0, 1)
    opt2.params = opt2.params[:2]  # the optimizer now holds fewer parameters than saved
    before = snapshot(model2, opt2)
    with pytest.raises(CheckpointError, match="could not restore the optimizer.*4 params saved"):
        xpnn.load_checkpoint(path, model2, opt2, sched2)
    assert_unchanged(before, model2, opt2)


def test_bad_checkpoints_raise_clean_errors(tmp_path):
    model, opt, sched = make_run("numpy")
    weights_only = xpnn.save(model, tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match="no xpnn.sha256|not an xpnn checkpoint"):
        xpnn.load_checkpoint(tmp_path / "w.safetensors", model)
    no_opt = xpnn.save_checkpoint(tmp_path / "m.safetensors", model)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        xpnn.load_checkpoint(no_opt, model, opt)
    assert weights_only and no_opt
    full = xpnn.save_checkpoint(tmp_path / "c.safetensors", model, opt, sched)
    blob = Path(full).read_bytes()
    before = snapshot(model, opt)
    for n in (0, 7, 8, 100, len(blob) // 2, len(blob) - 1):
        Path(tmp_path / "t").write_bytes(blob[:n])
        with pytest.raises(CheckpointError, match="'t'|/t'"):
            xpnn.load_checkpoint(tmp_path / "t", model, opt, sched)
    assert_unchanged(before, model, opt)
    small = make_run("numpy")[0]
    setattr(small, "3", nn.Linear(16, 2))
    with pytest.raises(CheckpointError, match="key 'model.3.weight'.*shape"):
        xpnn.load_checkpoint(full, small)
    with pytest.raises(ValueError, match="epoch must be an int"):
        xpnn.save_checkpoint(tmp_path / "x", model, epoch=-1)
    with pytest.raises(TypeError, match="cannot store extra.f of type builtin_function"):
        xpnn.save_checkpoint(tmp_path / "x", model, extra={"f": len})


if __name__ == "__main__":
    if sys.argv[1] == "resume":
        model, opt, sched = make_run("numpy", seed=11)
        info = xpnn.load_checkpoint(sys.argv[2], model, opt, sched)
        train(model, opt, sched, info["epoch"], 4)
        xpnn.save(model, sys.argv[3])
