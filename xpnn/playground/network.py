"""The playground's model: which layers a config means, building them, and one frame.

A frame is what the page draws: every hidden unit's output and the network's output over a
grid of the plane, plus losses and accuracy on the train and test points, all from one
batched forward under ``no_grad``. Values travel as bytes (uint8, base64), weights as
rounded floats.
"""
from __future__ import annotations

import base64

import numpy as np

import xpnn
from xpnn import nn
import xpnn.functional as F

GRID = 50              # the output map is GRID x GRID points
UNIT_GRID_LIMIT = 32   # above this many hidden units, their maps use every other point
ACTIVATION_CLASSES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                      "linear": "Identity", "gelu": "GELU"}


def outputs(problem, classes):
    """Output units: one logit for two classes (softmax over [0, z] is sigmoid(z)), one per
    class above that, one value for regression."""
    return classes if problem == "classification" and classes > 2 else 1


def layer_specs(cfg, n_in, n_out):
    """[(nn class name, args)] of the Sequential a config means; the exported script and
    the live model are both built from this list, so their state_dict names agree."""
    specs, prev = [], n_in
    for width, act in zip(cfg["layers"], cfg["activations"]):
        specs += [("Linear", (prev, width)), (ACTIVATION_CLASSES[act], ())]
        if cfg["dropout"] > 0:
            specs.append(("Dropout", (cfg["dropout"],)))
        prev = width
    specs.append(("Linear", (prev, n_out)))
    return specs


def build(specs, backend, device, linears=None):
    """An nn.Sequential from specs. Linear layers get ``backend``/``device`` explicitly (the
    default backend is thread-local). ``linears``: reuse these Linear modules in order
    (keeping their weights and optimizer state) instead of new ones."""
    reuse = iter(linears or ())
    mods = []
    for kind, args in specs:
        if kind == "Linear":
            mods.append(next(reuse, None) or nn.Linear(*args, backend=backend, device=device))
        else:
            mods.append(getattr(nn, kind)(*args))
    return nn.Sequential(*mods)


def linear_names(model):
    """state_dict prefixes of the Linear layers, in order ("0", "2", ...)."""
    return [str(i) for i, m in enumerate(model) if isinstance(m, nn.Linear)]


def hidden_positions(model):
    """Indices in the Sequential whose output is a hidden layer's activation."""
    mods = list(model)
    return [i for i, m in enumerate(mods) if i > 0 and isinstance(mods[i - 1], nn.Linear)
            and i < len(mods) - 1 and not isinstance(m, nn.Linear)]


def loss_fn(problem, classes):
    """The training loss for the model's raw output and the loader's targets."""
    if problem == "regression":
        return F.mse_loss
    if classes > 2:
        return F.cross_entropy
    return F.binary_cross_entropy_with_logits


def targets(problem, classes, y):
    """Targets as the loss wants them: int64 labels, or float32 (n, 1)."""
    if problem == "classification" and classes > 2:
        return y.astype(np.int64)
    return y.astype(np.float32).reshape(-1, 1)


def grid_points(extent, n=GRID):
    """(n*n, 2) float32 points, row-major, the top row at ymax (as the page draws them)."""
    xmin, xmax, ymin, ymax = extent
    gx = np.linspace(xmin, xmax, n)
    gy = np.linspace(ymax, ymin, n)
    X1, X2 = np.meshgrid(gx, gy)
    return np.stack([X1.ravel(), X2.ravel()], axis=1).astype(np.float32)


def host_outputs(Z, problem, classes):
    """Probabilities (n, k) for classification, values (n,) for regression, in float64."""
    Z = Z.astype(np.float64)
    if problem == "regression":
        return Z[:, 0]
    if classes == 2:
        p = 1.0 / (1.0 + np.exp(-np.clip(Z[:, 0], -500, 500)))
        return np.stack([1.0 - p, p], axis=1)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def host_loss(Z, y, problem, classes):
    """Mean data loss (no regularization), computed on the host in float64."""
    Z = Z.astype(np.float64)
    if problem == "regression":
        return float(np.mean((Z[:, 0] - y) ** 2))
    if classes == 2:
        z = Z[:, 0]
        return float(np.mean(np.logaddexp(0.0, z) - y * z))
    m = Z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(lse - Z[np.arange(len(y)), y.astype(np.int64)]))


def forward_all(model, X, hidden_at):
    """The model's output and the hidden activations at ``hidden_at``, as host arrays, from
    one forward in eval mode (dropout off) under no_grad."""
    model.eval()
    try:
        with xpnn.no_grad():
            h, hidden = X, []
            for i, m in enumerate(model):
                h = m(h)
                if i in hidden_at:
                    hidden.append(h.numpy())
            return h.numpy(), hidden
    finally:
        model.train()


def quantize(v, scale):
    """Values in [-scale, scale] as base64 uint8 (0 -> -scale, 255 -> +scale)."""
    q = np.clip(np.rint((np.asarray(v, np.float64) / scale + 1.0) * 127.5), 0, 255)
    return base64.b64encode(q.astype(np.uint8).tobytes()).decode("ascii")


def encode_grid(Z, hidden, problem, classes, target_scale, n=GRID):
    """The frame's maps: output (per class for classification) and each hidden unit."""
    cells = n * n
    out = host_outputs(Z[:cells], problem, classes)
    if problem == "regression":
        maps = [quantize(out, target_scale)]
    elif classes == 2:
        maps = [quantize(out[:, 1] * 2 - 1, 1.0)]
    else:
        maps = [quantize(out[:, c] * 2 - 1, 1.0) for c in range(classes)]
    total = sum(h.shape[1] for h in hidden)
    step = 2 if total > UNIT_GRID_LIMIT else 1
    units, scales = [], []
    for h in hidden:
        g = h[:cells].reshape(n, n, -1)[::step, ::step]
        for j in range(h.shape[1]):
            u = g[:, :, j]
            s = float(max(1.0, np.abs(u).max()))
            units.append(quantize(u, s))
            scales.append(round(s, 4))
    return {"n": n, "unit_n": len(range(0, n, step)), "out": maps, "units": units,
            "unit_scale": scales}


def metrics(Z, y, problem, classes):
    """Loss, accuracy and predicted labels for one split (accuracy None for regression)."""
    if len(y) == 0:
        return float("nan"), None, None
    loss = host_loss(Z, y, problem, classes)
    if problem == "regression":
        return loss, None, None
    pred = host_outputs(Z, problem, classes).argmax(axis=1)
    return loss, float(np.mean(pred == y)), pred


def confusion(y, pred, classes):
    """counts[true][predicted] as nested lists."""
    m = np.bincount(y.astype(np.int64) * classes + pred, minlength=classes * classes)
    return m.reshape(classes, classes).tolist()
