"""xpnn.viz: every plot renders to a PNG (Agg) that is not blank."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure
from matplotlib.image import imread

import xpnn
from xpnn import nn, viz


def _assert_drawn(fig, path):
    """The PNG exists, and it is not one flat colour: a real share of pixels is inked."""
    assert isinstance(fig, Figure)
    img = imread(path)[..., :3]
    assert img.shape[0] > 100 and img.shape[1] > 100
    background = np.median(img.reshape(-1, 3), axis=0)
    inked = np.abs(img - background).sum(axis=2) > 0.1
    assert inked.mean() > 0.01, f"{path}: only {inked.mean():.4f} of the pixels are drawn"
    assert img.std() > 0.02


def _model(backend="numpy"):
    xpnn.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3)).to(
        backend)


def test_plot_history(tmp_path):
    h = xpnn.History()
    for e in range(5):
        h.append(e, {"loss": 1.0 / (e + 1), "accuracy": 0.5 + 0.1 * e, "val_loss": 1.2 / (e + 1),
                     "val_accuracy": 0.45 + 0.1 * e, "lr": 0.1, "time": 0.2,
                     "confusion_matrix": np.eye(2)})
    p = tmp_path / "h.png"
    fig = viz.plot_history(h, save=p)
    assert len(fig.axes) == 2  # loss and accuracy; lr, time and arrays are left out
    _assert_drawn(fig, p)
    with pytest.raises(ValueError, match="nothing to plot"):
        viz.plot_history({"time": [1.0]})


def test_plot_decision_boundary(tmp_path, backend):
    X, y = xpnn.data.spirals(90, classes=3, seed=0)
    p = tmp_path / "db.png"
    _assert_drawn(viz.plot_decision_boundary(_model(backend), X, y, resolution=60, save=p), p)
    Xb, yb = xpnn.data.moons(60)
    two = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    _assert_drawn(viz.plot_decision_boundary(two, Xb, yb, resolution=40, save=p), p)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\), got \(4, 3\)"):
        viz.plot_decision_boundary(two, np.zeros((4, 3), np.float32), np.zeros(4))


def test_plot_confusion_matrix(tmp_path):
    cm = np.array([[50, 3, 1], [2, 40, 8], [0, 5, 60]])
    p = tmp_path / "cm.png"
    _assert_drawn(viz.plot_confusion_matrix(cm, ["a", "b", "c"], normalize=True, save=p), p)
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        viz.plot_confusion_matrix(cm, ["a", "b"])
    with pytest.raises(ValueError, match="must be square"):
        viz.plot_confusion_matrix(np.zeros((2, 3)))


def test_plot_activations(tmp_path):
    p = tmp_path / "act.png"
    fig = viz.plot_activations(("relu", "tanh", "gelu"), save=p)
    assert len(fig.axes) == 3
    # the dashed curve is the autograd derivative: tanh' = 1 - tanh^2
    xs, dy = fig.axes[1].lines[1].get_data()
    np.testing.assert_allclose(dy, 1 - np.tanh(xs) ** 2, atol=1e-12)
    _assert_drawn(fig, p)
    with pytest.raises(ValueError, match="no 'swish'"):
        viz.plot_activations(("swish",))


def test_plot_network(tmp_path):
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    p = tmp_path / "net.png"
    fig = viz.plot_network(model, max_nodes=6, save=p)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "784" in texts and "Dropout(p=0.2, inplace=False)" in texts and "ReLU" in texts
    assert "50,890 parameters" in fig.axes[0].get_title()
    _assert_drawn(fig, p)
    # a layer without nodes (a convolution) is a box with its name and its notes written on
    # the figure (the name was only a legend label, never drawn)
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
    texts = [t.get_text() for t in viz.plot_network(cnn).axes[0].texts]
    assert "Conv2d" in texts and any("ReLU" in t and "Flatten" in t for t in texts)


def test_plot_samples(tmp_path, rng):
    imgs = rng.random((12, 1, 8, 8)).astype(np.float32)
    y = np.arange(12) % 10
    pred = y.copy()
    pred[3] = 7
    p = tmp_path / "s.png"
    fig = viz.plot_samples(imgs, y, pred, n=12, save=p)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[3] == "7\n(true 3)" and titles[0] == "0"
    _assert_drawn(fig, p)
    # (n, 40) signals are not square images: drawn as curves
    _assert_drawn(viz.plot_samples(rng.normal(size=(6, 40)), np.arange(6), save=p), p)
