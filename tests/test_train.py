"""xpnn.fit / evaluate / predict, History, callbacks and metrics."""
import csv
import json
import math

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn import callbacks as C
from xpnn import metrics as M
from xpnn import nn, optim
from xpnn.data import DataLoader, moons, train_test_split


def _setup(backend="numpy", n=400, hidden=16, seed=0, batch_size=32):
    xpnn.manual_seed(seed)
    X, y = moons(n, noise=0.1, seed=seed)
    (Xtr, ytr), (Xte, yte) = train_test_split(X, y, test_size=0.25, seed=seed)
    model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2)).to(backend)
    train = DataLoader(Xtr, ytr, batch_size=batch_size, shuffle=True, backend=backend, seed=1)
    val = DataLoader(Xte, yte, batch_size=64, backend=backend)
    return model, train, val


def test_fit_learns_and_records_history():
    model, train, val = _setup()
    opt = optim.Adam(model.parameters(), lr=0.05)
    h = xpnn.fit(model, train, F.cross_entropy, opt, epochs=8, val=val,
                 metrics=["accuracy", "top1", "confusion_matrix"], progress=False)
    assert isinstance(h, xpnn.History) and len(h) == 8 and h.epoch == list(range(8))
    for key in ("loss", "accuracy", "top1_accuracy", "val_loss", "val_accuracy",
                "val_confusion_matrix", "lr", "time"):
        assert len(h[key]) == 8, key
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["val_accuracy"][-1] >= 0.9  # a linear boundary gets ~0.85 on moons
    assert h["accuracy"] == h["top1_accuracy"]
    cm = h["val_confusion_matrix"][-1]
    assert cm.shape == (2, 2) and cm.sum() == 100
    assert np.trace(cm) / 100 == pytest.approx(h["val_accuracy"][-1])
    assert h["lr"] == [0.05] * 8
    assert h.wall_time == pytest.approx(sum(h["time"]))
    assert h.best("val_loss")[1] == min(h["val_loss"])
    json.dumps(h.to_dict())  # arrays become lists
    res = xpnn.evaluate(model, val, F.cross_entropy, ["accuracy"])
    assert res["accuracy"] == pytest.approx(h["val_accuracy"][-1])
    assert res["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-5)


def test_fit_is_the_same_on_every_backend(backend):
    """Same seed, same data order: numpy, array_api_strict and torch give one history.

    Tolerance: float32 sums in different orders drift by a few eps per step over 48 steps of
    a small network; 1e-4 relative is ~800 float32 eps and still catches a wrong update.
    """
    ref_model, ref_train, ref_val = _setup("numpy")
    ref = xpnn.fit(ref_model, ref_train, F.cross_entropy,
                   optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9), epochs=4,
                   val=ref_val, progress=False)
    model, train, val = _setup(backend)
    h = xpnn.fit(model, train, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1,
                                                          momentum=0.9),
                 epochs=4, val=val, progress=False)
    np.testing.assert_allclose(h["loss"], ref["loss"], rtol=1e-4)
    np.testing.assert_allclose(h["val_loss"], ref["val_loss"], rtol=1e-4)
    assert h["val_accuracy"] == ref["val_accuracy"]
    out = xpnn.predict(model, val)
    assert isinstance(out, np.ndarray) and out.shape == (100, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out, xpnn.predict(ref_model, ref_val), rtol=1e-4, atol=1e-5)


def test_fit_accepts_arrays_and_predict_restores_mode():
    xpnn.manual_seed(0)
    X, y = moons(200, seed=2)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
    h = xpnn.fit(model, (X, y), F.cross_entropy, optim.Adam(model.parameters(), 0.01),
                 epochs=2, val=(X, y), batch_size=50, progress=False)
    assert len(h["loss"]) == 2
    assert model.training
    a, b = xpnn.predict(model, X), xpnn.predict(model, X)  # eval mode: dropout off
    np.testing.assert_array_equal(a, b)
    assert model.training


def test_loss_is_read_back_only_every_sync_every_steps(monkeypatch):
    model, train, _ = _setup(n=640, batch_size=16)  # 30 steps per epoch
    calls = []
    real = xpnn.train.B.to_numpy
    monkeypatch.setattr(xpnn.train.B, "to_numpy", lambda a: calls.append(1) or real(a))
    xpnn.fit(model, train, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
             epochs=1, metrics=(), progress=False, sync_every=10)
    # 30 steps / 10 = 3 syncs, each at most two transfers (losses, gradient sums); none per step
    assert 3 <= len(calls) <= 6


class _NaNAt:
    """cross_entropy, but NaN at the given global call numbers (0-based)."""

    def __init__(self, *at):
        self.at, self.calls = set(at), 0

    def __call__(self, out, y):
        L = F.cross_entropy(out, y)
        self.calls += 1
        return L * math.nan if self.calls - 1 in self.at else L


def test_nonfinite_loss_raises_with_epoch_and_step():
    model, train, _ = _setup()  # 10 steps per epoch
    with pytest.raises(xpnn.NonFiniteLossError, match=r"nan at epoch 2 of 3, step 4 of 10"):
        xpnn.fit(model, train, _NaNAt(13), optim.SGD(model.parameters(), lr=0.1), epochs=3,
                 progress=False, sync_every=7)


def test_nonfinite_loss_skip():
    model, train, _ = _setup()
    before = [to_np(p) for p in model.parameters()]
    h = xpnn.fit(model, train, _NaNAt(3, 4), optim.SGD(model.parameters(), lr=0.1),
                 epochs=2, progress=False, on_nonfinite="skip")
    assert h["skipped"] == [2, 0]
    assert all(np.isfinite(h["loss"]))
    assert all(np.isfinite(to_np(p)).all() for p in model.parameters())
    assert any(not np.array_equal(a, to_np(p)) for a, p in zip(before, model.parameters()))


def test_fit_bad_arguments():
    model, train, _ = _setup()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        xpnn.fit(model, train, F.cross_entropy, opt, epochs=0)
    with pytest.raises(ValueError, match="on_nonfinite must be 'raise' or 'skip'"):
        xpnn.fit(model, train, F.cross_entropy, opt, on_nonfinite="ignore")
    other = DataLoader(np.zeros((4, 2), np.float32), np.zeros(4), backend="array_api_strict")
    with pytest.raises(ValueError, match="parameters are on numpy:cpu but the loader yields "
                       "array_api_strict"):
        xpnn.fit(model, other, F.cross_entropy, opt)
    with pytest.raises(TypeError, match="callbacks must be"):
        xpnn.fit(model, train, F.cross_entropy, opt, callbacks=[print])
    with pytest.raises(ValueError, match="progress must be"):
        xpnn.fit(model, train, F.cross_entropy, opt, progress="yes")


def test_progress_modes(capsys, monkeypatch):
    model, train, val = _setup()
    opt = optim.SGD(model.parameters(), lr=0.1)
    xpnn.fit(model, train, F.cross_entropy, opt, epochs=1, progress=True)  # not a terminal
    assert capsys.readouterr() == ("", "")
    xpnn.fit(model, train, F.cross_entropy, opt, epochs=2, val=val, progress="lines")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2") and "val_accuracy=" in lines[1]
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    xpnn.fit(model, train, F.cross_entropy, opt, epochs=1, progress=True, sync_every=3)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "10/10" in err and "samples_per_s" in err


# -- callbacks ---------------------------------------------------------------------------------
class _Script(C.Callback):
    """Overwrites a log value per epoch and records the weights after each epoch."""

    def __init__(self, key, values):
        self.key, self.values, self.weights = key, values, []

    def on_epoch_end(self, epoch, logs):
        logs[self.key] = self.values[epoch]
        self.weights.append([to_np(p).copy() for p in self.ctx.model.parameters()])


def test_early_stopping_restores_best_weights():
    model, train, val = _setup()
    script = _Script("val_loss", [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    stop = C.EarlyStopping("val_loss", patience=2)
    h = xpnn.fit(model, train, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                 epochs=7, val=val, callbacks=[script, stop], progress=False)
    # Keras' rule: stop after `patience` epochs without improvement
    assert len(h) == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert stop.best == 0.5
    for w, p in zip(script.weights[1], model.parameters()):
        np.testing.assert_array_equal(w, to_np(p))
    with pytest.raises(ValueError, match="patience must be an int >= 0, got -1"):
        C.EarlyStopping(patience=-1)
    with pytest.raises(KeyError, match="monitor 'val_loss' is not in the epoch logs"):
        xpnn.fit(model, train, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                 callbacks=[C.EarlyStopping()], progress=False)


def test_model_checkpoint(tmp_path):
    model, train, val = _setup()
    opt = optim.SGD(model.parameters(), lr=0.1)
    script = _Script("val_accuracy", [0.5, 0.9, 0.8])
    best = C.ModelCheckpoint(tmp_path / "best-{epoch}.safetensors", monitor="val_accuracy",
                             save_best_only=True)
    full = C.ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.safetensors", save_optimizer=True)
    xpnn.fit(model, train, F.cross_entropy, opt, epochs=3, val=val,
             callbacks=[script, best, full], progress=False)
    assert [p.rsplit("/", 1)[1] for p in best.saved] == ["best-1.safetensors",
                                                          "best-2.safetensors"]
    assert len(full.saved) == 3
    fresh = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    xpnn.load(fresh, best.saved[-1])
    for w, p in zip(script.weights[1], fresh.parameters()):
        np.testing.assert_array_equal(w, to_np(p))
    info = xpnn.load_checkpoint(full.saved[-1], fresh, optim.SGD(fresh.parameters(), lr=0.1))
    assert info["epoch"] == 3 and info["step"] == 30


def test_lr_scheduler_callback():
    model, train, _ = _setup()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    h = xpnn.fit(model, train, F.cross_entropy, opt, epochs=3, progress=False,
                 callbacks=[C.LearningRateScheduler(sched)])
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025])  # logged before the epoch's step
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.CosineAnnealingLR(opt, T_max=20)
    h = xpnn.fit(model, train, F.cross_entropy, opt, epochs=2, progress=False,
                 callbacks=[C.LearningRateScheduler(sched, interval="step")])
    assert h["lr"][-1] == pytest.approx(0.0, abs=1e-12)  # 20 steps: the end of the cosine
    with pytest.raises(ValueError, match="interval must be 'epoch' or 'step'"):
        C.LearningRateScheduler(sched, interval="batch")


def test_csv_and_json_loggers(tmp_path):
    model, train, val = _setup()
    h = xpnn.fit(model, train, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                 epochs=3, val=val, metrics=["accuracy", "confusion_matrix"], progress=False,
                 callbacks=[C.CSVLogger(tmp_path / "log.csv"),
                            C.JSONLogger(tmp_path / "log.json")])
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert float(rows[2]["val_loss"]) == pytest.approx(h["val_loss"][2])
    assert "confusion_matrix" not in rows[0]
    data = json.loads((tmp_path / "log.json").read_text())
    assert data["epoch"] == [0, 1, 2] and data["loss"] == pytest.approx(h["loss"])
    assert np.array_equal(data["val_confusion_matrix"][2], h["val_confusion_matrix"][2])


# -- metrics -----------------------------------------------------------------------------------
def test_metrics_match_references(backend, rng):
    sk_cm = pytest.importorskip("sklearn.metrics").confusion_matrix
    out = rng.normal(size=(60, 5)).astype(np.float32)
    y = rng.integers(0, 5, 60)
    t = xpnn.tensor(out, backend=backend)
    yt = xpnn.tensor(y, backend=backend)
    assert M.accuracy(t, yt) == pytest.approx(np.mean(out.argmax(1) == y))
    rank = (out > out[np.arange(60), y][:, None]).sum(1)
    assert M.top_k_accuracy(t, yt, k=3) == pytest.approx(np.mean(rank < 3))
    assert M.top_k_accuracy(t, yt, k=5) == 1.0
    cm = M.confusion_matrix(t, yt)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, sk_cm(y, out.argmax(1), labels=range(5)))
    target = rng.normal(size=(60, 5)).astype(np.float32)
    assert M.mse(t, xpnn.tensor(target, backend=backend)) == pytest.approx(
        np.mean((out - target) ** 2), rel=1e-5)
    # binary: one logit per sample against 0/1 targets
    z = xpnn.tensor(out[:, :1], backend=backend)
    ones = xpnn.tensor((y[:, None] % 2).astype(np.float32), backend=backend)
    assert M.accuracy(z, ones) == pytest.approx(np.mean((out[:, 0] > 0) == (y % 2 == 1)))


def test_metric_streaming_equals_one_shot(rng):
    out, y = rng.normal(size=(50, 4)).astype(np.float32), rng.integers(0, 4, 50)
    m = M.get_metric("top2")
    m.reset()
    for i in range(0, 50, 16):
        m.update(out[i:i + 16], y[i:i + 16])
    assert m.result() == pytest.approx(M.top_k_accuracy(out, y, 2))


def test_metric_errors():
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        M.get_metric("f1")
    with pytest.raises(ValueError, match="TopKAccuracy: k must be an int >= 1, got 0"):
        M.TopKAccuracy(0)
    with pytest.raises(ValueError, match=r"output has 3 samples .* target has 2"):
        M.accuracy(np.zeros((3, 2), np.float32), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="mse: output shape"):
        M.mse(np.zeros(3, np.float32), np.zeros(4, np.float32))


def test_fit_evaluate_predict_take_what_the_readme_says():
    """A float64 model trains and predicts from float64 arrays (they were narrowed to
    float32 and refused); an (X, y) tuple of Tensors is data, a float64 Tensor stays
    float64 in DataLoader(X, y); evaluate refuses a loader of inputs alone (it split each
    batch into rows and scored them); integer labels of shape (N, 1) are labels."""
    from xpnn.utils.data import DataLoader
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)).double()
    opt = xpnn.optim.SGD(model.parameters(), lr=0.1)
    xpnn.fit(model, (X, y), epochs=1, loss=nn.CrossEntropyLoss(), optimizer=opt,
             progress=False)
    assert xpnn.predict(model, X).dtype == np.float64
    assert xpnn.predict(model, xpnn.tensor(X, dtype=xpnn.float64)).dtype == np.float64
    small = nn.Linear(2, 2)
    acc = xpnn.evaluate(small, (xpnn.tensor(X.astype(np.float32)), xpnn.tensor(y)))
    assert 0.0 <= acc["accuracy"] <= 1.0
    xb, _ = next(iter(DataLoader(xpnn.tensor(X, dtype=xpnn.float64), xpnn.tensor(y),
                                 batch_size=8)))
    assert str(xb.dtype).endswith("float64")
    with pytest.raises(TypeError, match="evaluate: each batch must be an \\(x, y\\) pair"):
        xpnn.evaluate(small, DataLoader(X.astype(np.float32), batch_size=2))
    assert xpnn.metrics.accuracy(np.eye(3)[[0, 2, 1]], np.array([[0], [2], [1]])) == 1.0


def test_metric_arguments_and_confusion_labels():
    """metrics="accuracy" is one metric (it was read letter by letter), metrics=None none;
    confusion_matrix refuses labels outside [0, C) (they were dropped from the counts)."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((32, 2)).astype(np.float32), rng.integers(0, 2, 32)
    model = nn.Linear(2, 2)
    assert set(xpnn.evaluate(model, (X, y), metrics="accuracy")) == {"accuracy"}
    assert xpnn.evaluate(model, (X, y), metrics=None, loss=nn.CrossEntropyLoss()).keys() == \
        {"loss"}
    cm = xpnn.metrics.ConfusionMatrix()
    cm.reset()
    with pytest.raises(ValueError, match=r"confusion_matrix: target labels must be in \[0, 3\)"):
        cm.update(np.eye(3)[[0, 1, 2]], np.array([0, 1, 5]))


def test_auto_metrics_score_classifiers_and_leave_regressions_alone(backend):
    """metrics="auto" (the default): accuracy for a classification loss or integer labels,
    nothing for a regression (it logged a meaningless accuracy of float targets)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((48, 3)).astype(np.float32)
    Y = X @ rng.standard_normal((3, 1)).astype(np.float32)
    labels, bits = (X[:, 0] > 0).astype(np.int64), (X[:, :1] > 0).astype(np.float32)
    cases = [(1, Y, F.mse_loss, set()),
             (2, labels, lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1),
              {"accuracy"}),
             (1, bits, nn.BCEWithLogitsLoss(), {"accuracy"}),
             (2, np.eye(2, dtype=np.float32)[labels], F.cross_entropy, {"accuracy"})]
    for width, target, loss, scored in cases:
        model = nn.Linear(3, width).to(backend)
        opt = optim.SGD(model.parameters(), lr=0.1)
        h = xpnn.fit(model, (X, target), loss, opt, epochs=1, val=(X, target),
                     progress=False)
        assert set(h.history) - {"loss", "val_loss", "lr", "time"} == \
            scored | {"val_" + k for k in scored}
        assert set(xpnn.evaluate(model, (X, target), loss)) == {"loss"} | scored
    with pytest.raises(ValueError, match="metric"):
        xpnn.fit(nn.Linear(3, 1), (X, Y), F.mse_loss, opt, metrics=["nope"], progress=False)
