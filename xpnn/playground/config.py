"""The playground's settings: defaults, the choices the page offers, and validation.

Everything a page sends passes through :func:`merge`, which returns a new, complete and
valid config or raises ValueError naming the field and quoting the value received.
"""
from __future__ import annotations

import math

from .datasets import CLASSIFICATION, DATASETS, FEATURES, MAX_CLASSES, REGRESSION

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "gelu")
OPTIMIZERS = ("sgd", "momentum", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS, MAX_NEURONS = 16, 64
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REGULARIZATION_RATES = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
DROPOUTS = (0, 0.1, 0.2, 0.3, 0.4, 0.5)

# TensorFlow Playground's defaults: circle, x1 and x2, two hidden layers 4-2, tanh, SGD 0.03
DEFAULTS = {
    "dataset": "circle", "classes": 2, "noise": 0, "train_ratio": 50, "seed": 0,
    "features": ["x1", "x2"], "layers": [4, 2], "activations": ["tanh", "tanh"],
    "dropout": 0.0, "regularization": "none", "regularization_rate": 0.0,
    "optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10,
}
DATA_KEYS = ("dataset", "classes", "noise", "train_ratio", "seed")
NETWORK_KEYS = ("features", "layers", "activations")


def choices():
    """What the page offers in its menus (sent to it once, with the state)."""
    return {"datasets": list(DATASETS), "classification": list(CLASSIFICATION),
            "regression": list(REGRESSION), "features": list(FEATURES),
            "activations": list(ACTIVATIONS), "optimizers": list(OPTIMIZERS),
            "regularizations": list(REGULARIZATIONS), "learning_rates": list(LEARNING_RATES),
            "regularization_rates": list(REGULARIZATION_RATES), "dropouts": list(DROPOUTS),
            "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS, "max_classes": MAX_CLASSES}


def _int(key, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"config: {key} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def _float(key, v, lo, hi, open_low=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v < lo or v > hi or (open_low and v == lo):
        side = "(" if open_low else "["
        raise ValueError(f"config: {key} must be a number in {side}{lo}, {hi}], got {v!r}")
    return float(v)


def _choice(key, v, options):
    if v not in options:
        raise ValueError(f"config: {key} must be one of {list(options)}, got {v!r}")
    return v


def merge(current, update, has_csv=False):
    """Apply a partial update to a full config.

    Args:
        current: a valid config (as DEFAULTS).
        update: {key: value} from a page; unknown keys are an error.
        has_csv: whether an uploaded CSV exists (dataset "csv" needs one).
    Returns:
        a new valid config. ``activations`` is padded or cut to the number of layers.
    """
    if not isinstance(update, dict):
        raise ValueError(f"config: expected a JSON object, got {type(update).__name__}")
    unknown = sorted(set(update) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"config: unknown setting(s) {unknown}; known: {sorted(DEFAULTS)}")
    cfg = dict(current, **update)
    out = {}
    names = DATASETS + (("csv",) if has_csv else ())
    if cfg["dataset"] == "csv" and not has_csv:
        raise ValueError("config: dataset 'csv' needs an uploaded CSV first (POST /api/upload)")
    out["dataset"] = _choice("dataset", cfg["dataset"], names)
    out["classes"] = _int("classes", cfg["classes"], 2, MAX_CLASSES)
    out["noise"] = _int("noise", cfg["noise"], 0, 50)
    out["train_ratio"] = _int("train_ratio", cfg["train_ratio"], 10, 90)
    out["seed"] = _int("seed", cfg["seed"], 0, 2**31 - 1)
    feats = cfg["features"]
    if not isinstance(feats, list) or not feats:
        raise ValueError(f"config: features must be a non-empty list of {list(FEATURES)}, "
                         f"got {feats!r}")
    for f in feats:
        _choice("features[]", f, FEATURES)
    if len(set(feats)) != len(feats):
        raise ValueError(f"config: features has duplicates: {feats!r}")
    out["features"] = [f for f in FEATURES if f in feats]  # canonical order
    layers = cfg["layers"]
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise ValueError(f"config: layers must be a list of at most {MAX_LAYERS} hidden-layer "
                         f"sizes, got {layers!r}")
    out["layers"] = [_int("layers[]", n, 1, MAX_NEURONS) for n in layers]
    acts = cfg["activations"]
    if not isinstance(acts, list):
        raise ValueError(f"config: activations must be a list of {list(ACTIVATIONS)}, got "
                         f"{acts!r}")
    acts = [_choice("activations[]", a, ACTIVATIONS) for a in acts]
    fill = acts[-1] if acts else "tanh"
    out["activations"] = (acts + [fill] * len(layers))[:len(layers)]
    out["dropout"] = _float("dropout", cfg["dropout"], 0.0, 0.9)
    out["regularization"] = _choice("regularization", cfg["regularization"], REGULARIZATIONS)
    out["regularization_rate"] = _float("regularization_rate", cfg["regularization_rate"],
                                        0.0, 100.0)
    out["optimizer"] = _choice("optimizer", cfg["optimizer"], OPTIMIZERS)
    out["learning_rate"] = _float("learning_rate", cfg["learning_rate"], 0.0, 100.0,
                                  open_low=True)
    out["batch_size"] = _int("batch_size", cfg["batch_size"], 1, 1000)
    return out
