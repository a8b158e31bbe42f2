"""Plots (matplotlib, the ``viz`` extra): training curves, decision boundaries, confusion
matrices, activation functions, network diagrams, and sample grids.

Every function builds a ``matplotlib.figure.Figure`` directly (no pyplot, so no global
figure state and no GUI backend is needed), returns it, and writes a PNG when ``save`` is a
path.
"""
from __future__ import annotations

import math

import numpy as np

try:
    from matplotlib.figure import Figure
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(f"xpnn.viz needs matplotlib: pip install 'xpnn[viz]' ({e})") from None

from . import backend as B

_GOOD, _BAD = "#1a7f37", "#cf222e"


def _finish(fig, save, dpi=110):
    fig.tight_layout()
    if save is not None:
        fig.savefig(save, dpi=dpi)
    return fig


# -- training curves ---------------------------------------------------------------------------
def plot_history(history, keys=None, save=None):
    """Loss and metric curves per epoch, training and validation side by side.

    Args:
        history: an ``xpnn.History`` or a dict of key -> per-epoch list.
        keys: base names to plot (default: ``loss`` and every scalar metric found).
        save: optional PNG path.
    Returns:
        Figure with one panel per key.
    """
    h = getattr(history, "history", history)
    epochs = list(getattr(history, "epoch", range(len(next(iter(h.values()), [])))))
    ep = [e + 1 for e in epochs]
    if keys is None:
        skip = {"time", "lr", "skipped"}
        keys = [k for k in h if not k.startswith("val_") and k not in skip
                and all(isinstance(v, (int, float)) or v is None for v in h[k])]
    if not keys:
        raise ValueError(f"plot_history: nothing to plot; the history has keys {sorted(h)}")
    fig = Figure(figsize=(4.2 * len(keys), 3.4))
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        for name, style in ((key, "-o"), ("val_" + key, "--s")):
            if name in h:
                ax.plot(ep, [np.nan if v is None else v for v in h[name]], style,
                        ms=3, label="validation" if name.startswith("val_") else "training")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, save)


# -- decision boundary -------------------------------------------------------------------------
def plot_decision_boundary(model, X, y, resolution=200, margin=0.4, title=None, save=None):
    """The classes a model assigns over the plane, with the data on top (2-D inputs).

    Args:
        model: an ``nn.Module`` mapping (n, 2) inputs to (n, C) class scores.
        X: (n, 2) points; y: (n,) integer labels.
        resolution: grid points per axis.
        margin: padding around the data, in data units.
        title: panel title.
        save: optional PNG path.
    Returns:
        Figure
    """
    from .train import predict
    X, y = B.to_numpy(getattr(X, "data", X)), B.to_numpy(getattr(y, "data", y))
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (n, 2), got {X.shape}")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    scores = predict(model, grid, batch_size=8192)
    C = scores.shape[1] if scores.ndim == 2 else 1
    fig = Figure(figsize=(5.2, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    cmap = "RdBu" if C <= 2 else "tab10"
    if C == 2:  # the class-1 probability, so the shading shows the model's confidence
        z = scores[:, 1] - scores[:, 0]
        z = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        cs = ax.contourf(gx, gy, z.reshape(gx.shape), levels=np.linspace(0, 1, 11),
                         cmap=cmap, alpha=0.45)
        fig.colorbar(cs, ax=ax, label="P(class 1)")
        ax.contour(gx, gy, z.reshape(gx.shape), levels=[0.5], colors="k", linewidths=1.2)
    else:
        z = scores.argmax(axis=1) if C > 1 else (scores.ravel() > 0)
        ax.contourf(gx, gy, z.reshape(gx.shape), levels=np.arange(max(C, 2) + 1) - 0.5,
                    cmap=cmap, alpha=0.35, vmin=0, vmax=9 if C > 2 else 1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, edgecolors="k", linewidths=0.4, s=14,
               vmin=0, vmax=9 if C > 2 else 1)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_title(title or "decision boundary")
    return _finish(fig, save)


# -- confusion matrix --------------------------------------------------------------------------
def plot_confusion_matrix(cm, class_names=None, normalize=False, title=None, save=None):
    """A confusion matrix as a heat map with the counts written in.

    Args:
        cm: (C, C) counts, rows true classes, columns predictions
            (``xpnn.metrics.confusion_matrix``).
        class_names: C labels for the axes.
        normalize: show each row as fractions of its true class.
        title: panel title.
        save: optional PNG path.
    Returns:
        Figure
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: cm must be square (C, C), got {cm.shape}")
    C = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(C)]
    if len(names) != C:
        raise ValueError(f"plot_confusion_matrix: {len(names)} class names for {C} classes")
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = max(4.0, 0.55 * C + 2.0)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    top = shown.max() if shown.size else 0
    for i in range(C):
        for j in range(C):
            text = f"{shown[i, j]:.2f}" if normalize else str(int(cm[i, j]))
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if shown[i, j] > top / 2 else "black")
    ax.set_xticks(range(C), names, rotation=45, ha="right")
    ax.set_yticks(range(C), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or ("confusion matrix" + (" (row-normalised)" if normalize else "")))
    return _finish(fig, save)


# -- activation functions ----------------------------------------------------------------------
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh")


def plot_activations(names=ACTIVATIONS, x_range=(-4.0, 4.0), save=None):
    """Activation functions and their derivatives, the derivatives taken by xpnn's autograd.

    Args:
        names: functions of ``xpnn.functional`` taking one Tensor.
        x_range: the interval plotted.
        save: optional PNG path.
    Returns:
        Figure with one panel per function (f solid, f' dashed).
    """
    import xpnn
    import xpnn.functional as F
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.7 * rows))
    xs = np.linspace(x_range[0], x_range[1], 401)
    for i, name in enumerate(names):
        fn = getattr(F, name, None)
        if fn is None:
            raise ValueError(f"plot_activations: xpnn.functional has no {name!r}")
        x = xpnn.tensor(xs, backend="numpy", dtype="float64", requires_grad=True)
        y = fn(x)
        y.sum().backward()  # elementwise f, so d(sum f)/dx_i = f'(x_i)
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.plot(xs, y.numpy(), label="f(x)", lw=2)
        ax.plot(xs, x.grad.numpy(), "--", label="f'(x)", lw=1.5)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
    return _finish(fig, save)


# -- network diagram ---------------------------------------------------------------------------
def _leaves(module):
    """Leaf modules in order (containers are opened up)."""
    kids = list(module.children())
    if not kids:
        return [module]
    out = []
    for k in kids:
        out += _leaves(k)
    return out


def _layer_plan(model):
    """Columns of (width, label) and the notes (activations, dropout) under each gap."""
    cols, notes = [], []
    for m in _leaves(model):
        kind = type(m).__name__
        if hasattr(m, "in_features") and hasattr(m, "out_features"):
            if not cols:
                cols.append((m.in_features, f"input\n{m.in_features}"))
                notes.append([])
            cols.append((m.out_features, f"{kind}\n{m.out_features}"))
            notes.append([])
        elif cols:
            extra = m.extra_repr() if hasattr(m, "extra_repr") else ""
            notes[-1].append(f"{kind}({extra})" if extra else kind)
        else:
            cols.append((None, kind))
            notes.append([])
    return cols, notes


def plot_network(model, max_nodes=8, title=None, save=None):
    """A drawing of the network: one column of units per layer, connections between them.

    Fully connected layers show their units (at most ``max_nodes`` drawn, the rest elided
    with a count); activations and dropout are written under the layer they follow; other
    layers appear as labelled boxes.

    Args:
        model: an ``nn.Module`` (Sequential or nested containers).
        max_nodes: units drawn per column before eliding.
        title: figure title (default: the parameter count).
        save: optional PNG path.
    Returns:
        Figure
    """
    cols, notes = _layer_plan(model)
    if not cols:
        raise ValueError(f"plot_network: {type(model).__name__} has no layers to draw")
    fig = Figure(figsize=(max(4.0, 1.9 * len(cols)), 4.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.axis("off")
    prev = None
    for c, ((width, label), note) in enumerate(zip(cols, notes)):
        if width is None:  # a layer without a node count (a convolution): a labelled box
            ax.add_patch(_box(c))
            ax.text(c, 0, label, ha="center", va="center", fontsize=8, wrap=True)
            if note:
                ax.text(c, -0.7, "\n".join(note), ha="center", va="top", fontsize=8,
                        color="#8250df")
            prev = [(c + 0.4, 0.0)]  # lines leave from the box's right edge
            continue
        shown = min(width, max_nodes)
        ys = np.linspace(-1, 1, shown) if shown > 1 else np.zeros(1)
        pts = [(c, float(yv)) for yv in ys]
        if prev is not None:
            for (x0, y0) in prev:
                for (x1, y1) in pts:
                    ax.plot([x0, x1], [y0, y1], color="#8c959f", lw=0.5, alpha=0.6, zorder=1)
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=110, zorder=2,
                   color="#0969da" if c else "#57606a", edgecolors="k", linewidths=0.6)
        if width > shown:
            ax.text(c + 0.12, 0, f"⋮ {width}", va="center", fontsize=8)
        ax.text(c, 1.32, label, ha="center", va="bottom", fontsize=9)
        if note:
            ax.text(c, -1.3, "\n".join(note), ha="center", va="top", fontsize=8,
                    color="#8250df")
        prev = pts
    ax.set_xlim(-0.6, len(cols) - 0.4)
    ax.set_ylim(-2.0, 1.9)
    n_params = sum(p.numel() for p in model.parameters())
    ax.set_title(title or f"{type(model).__name__}: {n_params:,} parameters")
    return _finish(fig, save)


def _box(x):
    from matplotlib.patches import FancyBboxPatch
    return FancyBboxPatch((x - 0.35, -0.5), 0.7, 1.0, boxstyle="round,pad=0.05",
                          fc="#ddf4ff", ec="k", lw=0.8)


# -- sample grid -------------------------------------------------------------------------------
def plot_samples(images, y_true, y_pred=None, class_names=None, n=25, cols=None, save=None):
    """A grid of samples titled with their predicted and true labels (wrong ones in red).

    Args:
        images: (n, H, W), (n, 1, H, W) or (n, D) with D a square number (drawn as images);
            other (n, D) inputs (e.g. MNIST-1D signals) are drawn as curves.
        y_true: (n,) true labels.
        y_pred: (n,) predicted labels, or None to show only the true ones.
        class_names: names to show instead of label numbers.
        n: how many samples (the first n).
        cols: grid columns (default: about square).
        save: optional PNG path.
    Returns:
        Figure
    """
    imgs = B.to_numpy(getattr(images, "data", images))[:n]
    yt = np.asarray(B.to_numpy(getattr(y_true, "data", y_true)))[:n]
    yp = None if y_pred is None else np.asarray(B.to_numpy(getattr(y_pred, "data", y_pred)))[:n]
    k = len(imgs)
    if k == 0:
        raise ValueError("plot_samples: no samples to draw")
    if imgs.ndim == 4 and imgs.shape[1] == 1:
        imgs = imgs[:, 0]
    curves = imgs.ndim == 2 and math.isqrt(imgs.shape[1]) ** 2 != imgs.shape[1]
    if imgs.ndim == 2 and not curves:
        side = math.isqrt(imgs.shape[1])
        imgs = imgs.reshape(k, side, side)
    cols = cols or math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    fig = Figure(figsize=(1.5 * cols, 1.65 * rows))

    def name(v):
        return class_names[int(v)] if class_names is not None else str(int(v))

    for i in range(k):
        ax = fig.add_subplot(rows, cols, i + 1)
        if curves:
            ax.plot(imgs[i], np.arange(imgs.shape[1]), color="k", lw=1.2)
            ax.invert_yaxis()
        else:
            ax.imshow(imgs[i], cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        if yp is None:
            ax.set_title(name(yt[i]), fontsize=7)
        else:
            ok = int(yp[i]) == int(yt[i])
            ax.set_title(f"{name(yp[i])}" + ("" if ok else f"\n(true {name(yt[i])})"),
                         fontsize=7, color=_GOOD if ok else _BAD)
    return _finish(fig, save)
