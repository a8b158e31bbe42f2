"""Export: the model's weights as safetensors bytes, and a Python script that rebuilds it."""
from __future__ import annotations

import os
import tempfile

import xpnn

from .datasets import FEATURE_CODE

WEIGHTS_NAME = "xpnn-playground.safetensors"
SCRIPT_NAME = "xpnn_playground_model.py"
_load_form = None   # how this engine's xpnn loads a file into a model (probed once)
LOAD_LINES = {
    "state_dict": "model.load_state_dict(xpnn.load(WEIGHTS))",   # the pinned API
    "module": "xpnn.load(model, WEIGHTS)",                        # the older form
    "load_file": "model.load_state_dict(xpnn.load_file(WEIGHTS))",
}


def weights_bytes(model):
    """``xpnn.save(model.state_dict(), path)`` into a temporary file, returned as bytes."""
    global _load_form
    with tempfile.TemporaryDirectory(prefix="xpnn-playground-") as tmp:
        path = os.path.join(tmp, WEIGHTS_NAME)
        xpnn.save(model.state_dict(), path)
        if _load_form is None:
            _load_form = _probe_load_form(path, model)
        with open(path, "rb") as f:
            return f.read()


def _probe_load_form(path, model):
    # The pinned API is ``model.load_state_dict(xpnn.load(path))``; engines before it
    # only have ``xpnn.load(model, path)``. The script uses the first form that works
    # here (the second is tried by loading the file just written into the same model,
    # which leaves its values as they are); ``xpnn.load_file`` is the last resort.
    try:
        if isinstance(xpnn.load(path), dict):
            return "state_dict"
    except TypeError:
        pass
    try:
        xpnn.load(model, path)
        return "module"
    except Exception:  # noqa: BLE001 - any failure means: not this form
        return "load_file"


def script(cfg, specs, problem, class_names, epoch):
    """The text of a short script that rebuilds the model with xpnn and loads the weights.

    Running it prints predictions for a few points; importing it (``runpy.run_path``) gives
    ``model``, ``features(points)`` and ``predict(points)``.
    """
    if _load_form is None:
        raise RuntimeError("export: call weights_bytes() first (it probes xpnn.load)")
    layers = ",\n    ".join(_module_code(kind, args) for kind, args in specs)
    feats = ", ".join(FEATURE_CODE[f] for f in cfg["features"])
    load = LOAD_LINES[_load_form]
    if problem == "regression":
        head, body = "values (n,)", "return out[:, 0]"
    elif len(class_names) == 2:
        head = "class probabilities (n, 2)"
        body = "p = 1 / (1 + np.exp(-out))\n    return np.concatenate([1 - p, p], axis=1)"
    else:
        head = f"class probabilities (n, {len(class_names)})"
        body = ("e = np.exp(out - out.max(axis=1, keepdims=True))\n"
                "    return e / e.sum(axis=1, keepdims=True)")
    return f'''"""Rebuild the xpnn playground's model (epoch {epoch}) and load its weights.

    python {SCRIPT_NAME} [{WEIGHTS_NAME}]
"""
import sys

import numpy as np

import xpnn
from xpnn import nn

WEIGHTS = sys.argv[1] if len(sys.argv) > 1 else "{WEIGHTS_NAME}"
FEATURES = {cfg["features"]!r}
CLASSES = {list(class_names) if problem == "classification" else None!r}


def features(points):
    """The network input for (n, 2) points: {", ".join(cfg["features"])}."""
    points = np.asarray(points, dtype=np.float32)
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([{feats}], axis=1).astype(np.float32)


model = nn.Sequential(
    {layers},
)
{load}
model.eval()


def predict(points):
    """{head} for (n, 2) points."""
    with xpnn.no_grad():
        out = model(xpnn.tensor(features(points))).numpy().astype(np.float64)
    {body}


if __name__ == "__main__":
    print(predict([[0.0, 0.0], [2.0, -3.0], [-4.0, 1.0]]))
'''


def _module_code(kind, args):
    return f"nn.{kind}({', '.join(repr(a) for a in args)})"
