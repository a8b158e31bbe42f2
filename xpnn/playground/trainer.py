"""Trainer: the data, model, optimizer and frames of one playground run.

A Trainer is driven by one thread only (the Session's): nothing in it is locked. Frames and
state leave through ``publish(kind, payload_bytes)``, which must never block.
"""
from __future__ import annotations

import json
import math
import time
import traceback

import numpy as np

import xpnn
from xpnn import optim
import xpnn.functional as F
from xpnn.data import DataLoader

from . import config as C
from . import datasets as D
from . import network as N

HISTORY_LIMIT = 2000
PREVIEW_POINTS = 160


class Trainer:
    """One training run: data, model, optimizer, steps and frames.

    Args:
        backend, device: where the model trains (any xpnn backend).
        config: settings to start from (merged into ``config.DEFAULTS``).
        publish: callable(kind, bytes) with kind "state" or "frame".
        fps: the most frames per second sent while training.
    """

    def __init__(self, backend="numpy", device=None, config=None, publish=None, fps=30.0):
        be = xpnn.get_backend(backend, device)   # fails here, in the caller, if unavailable
        self.backend, self.device = be.name, device
        self.device_name = str(be.device)
        self.publish = publish or (lambda kind, payload: None)
        self.frame_interval = 1.0 / float(fps)
        self.config = C.merge(C.DEFAULTS, config or {})
        self.csv = None
        self.running = False
        self.status = ("paused", "Press play (or the space bar) to start training.")
        self.latest = {"state": None, "frame": None}
        self._run = 0
        self._halting = False

    def _interrupted(self):
        """Whether something is waiting for the training loop (a Session's commands)."""
        return False

    # -- data, model, optimizer ------------------------------------------------------------
    def _new_data(self, data=None):
        cfg = self.config
        if data is not None:
            self.data = data
        elif cfg["dataset"] == "csv":
            self.data = D.parse_csv(self.csv, cfg["train_ratio"], cfg["seed"])
        else:
            self.data = D.generate(cfg["dataset"], 500, cfg["noise"], cfg["classes"],
                                   cfg["seed"], cfg["train_ratio"])
        self._new_model()

    def _inputs(self):
        d = self.data
        pts = np.concatenate([N.grid_points(d.extent), d.X[d.train], d.X[d.test]])
        return xpnn.tensor(D.features(pts, self.config["features"]), backend=self.backend,
                           device=self.device)

    def _specs(self):
        d = self.data
        return N.layer_specs(self.config, len(self.config["features"]),
                             N.outputs(d.problem, d.classes))

    def _new_model(self):
        """Fresh weights (drawn from the config's seed: a reset replays the same run)."""
        d, cfg = self.data, self.config
        self._run += 1
        xpnn.manual_seed(cfg["seed"])
        self.model = N.build(self._specs(), self.backend, self.device)
        self.loss = N.loss_fn(d.problem, d.classes)
        self.X_all = self._inputs()
        self._y_train = N.targets(d.problem, d.classes, d.y[d.train])
        self.epoch, self.samples, self.history = 0, 0, []
        self._good = None
        self._new_optimizer()
        self._new_loader()
        self._frame_cost, self._next_wait = 0.0, self.frame_interval
        self._train_time = 0.0

    def _new_optimizer(self):
        cfg, params = self.config, self.model.parameters()
        if cfg["optimizer"] == "adam":
            self.opt = optim.Adam(params, lr=cfg["learning_rate"])
        else:
            momentum = 0.9 if cfg["optimizer"] == "momentum" else 0.0
            self.opt = optim.SGD(params, lr=cfg["learning_rate"], momentum=momentum)

    def _new_loader(self):
        """A new loader starts a new epoch: the partial one is dropped, the count kept."""
        d = self.data
        Xtr = D.features(d.X[d.train], self.config["features"])
        self.loader = DataLoader(Xtr, self._y_train, batch_size=self.config["batch_size"],
                                 shuffle=True, backend=self.backend, device=self.device,
                                 seed=self.config["seed"] + 1000 * self.epoch)
        self._batches, self._pos = None, 0
        self._per_epoch = len(self.loader)

    # -- training ------------------------------------------------------------------------
    def _step(self):
        """One optimizer step on the next batch; the epoch count moves at its last batch."""
        if self._batches is None:
            self._batches = iter(self.loader)
        Xb, yb = next(self._batches)
        loss = self.loss(self.model(Xb), yb)
        cfg = self.config
        if cfg["regularization"] != "none" and cfg["regularization_rate"] > 0:
            penalty = F.l1_penalty if cfg["regularization"] == "l1" else F.l2_penalty
            loss = loss + penalty(self.model, cfg["regularization_rate"], skip_1d=True)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.samples += Xb.shape[0]
        self._pos += 1
        if self._pos == self._per_epoch:
            self.epoch += 1
            self._batches, self._pos = None, 0

    def _train_until(self, deadline):
        start = time.perf_counter()
        try:
            while True:
                self._step()
                if time.perf_counter() >= deadline or self._interrupted():
                    break
        except Exception as e:  # noqa: BLE001 - the page shows it; the server lives on
            traceback.print_exc()
            self.running = False
            self.status = ("error", f"training stopped: {type(e).__name__}: {e}")
        self._train_time += time.perf_counter() - start

    # -- frames --------------------------------------------------------------------------
    def _frame(self):
        """Compute and publish one frame; the NaN guard lives here."""
        t0 = time.perf_counter()
        d = self.data
        weights = {k: np.array(v.numpy(), copy=True) for k, v in
                   self.model.named_parameters()}
        Z, hidden = N.forward_all(self.model, self.X_all, N.hidden_positions(self.model))
        cells, n_tr = N.GRID * N.GRID, len(d.train)
        tr = N.metrics(Z[cells:cells + n_tr], d.y[d.train], d.problem, d.classes)
        te = N.metrics(Z[cells + n_tr:], d.y[d.test], d.problem, d.classes)
        finite = all(np.isfinite(w).all() for w in weights.values()) and \
            np.isfinite(Z).all() and math.isfinite(tr[0]) and math.isfinite(te[0])
        if not finite:
            return self._halt()
        self._good = (self.epoch, weights)
        point = [round(self.epoch + self._pos / self._per_epoch, 3), _r(tr[0]), _r(te[0]),
                 _r(tr[1]), _r(te[1])]
        if not self.history or self.history[-1][0] != point[0]:
            self.history.append(point)
            if len(self.history) > HISTORY_LIMIT:
                self.history = self.history[::2]
        names = N.linear_names(self.model)
        frame = {
            "type": "frame", "run": self._run, "epoch": self.epoch, "samples": self.samples,
            "running": self.running, "status": self.status[0], "message": self.status[1],
            "loss_train": _r(tr[0]), "loss_test": _r(te[0]), "acc_train": _r(tr[1]),
            "acc_test": _r(te[1]), "point": point,
            "weights": [np.round(weights[f"{k}.weight"], 4).tolist() for k in names],
            "biases": [np.round(weights[f"{k}.bias"], 4).tolist() for k in names],
            "grid": N.encode_grid(Z, hidden, d.problem, d.classes, d.target_scale),
            "confusion": None if te[2] is None else N.confusion(d.y[d.test], te[2],
                                                               d.classes),
            "samples_per_s": round(self.samples / self._train_time) if self._train_time
            else 0,
        }
        self._publish("frame", frame)
        self._frame_cost = time.perf_counter() - t0
        # frames never take more than a quarter of the time
        self._next_wait = max(self.frame_interval, 3.0 * self._frame_cost)

    def _halt(self):
        """Loss or a weight is NaN/Inf: pause, restore the last finite weights, say why."""
        cfg, bad_epoch = self.config, self.epoch
        self.running = False
        if self._good is None or self._halting:
            good_epoch = 0
            self._new_model()
        else:
            good_epoch, weights = self._good
            self.model.load_state_dict(weights)
            self._new_optimizer()
        reg = "" if cfg["regularization"] == "none" else \
            f", {cfg['regularization'].upper()} rate {cfg['regularization_rate']:g}"
        self.status = ("halted", f"Training paused: the loss or a weight became NaN/Inf "
                       f"near epoch {bad_epoch} (learning rate {cfg['learning_rate']:g}"
                       f"{reg}). Weights were restored to epoch {good_epoch}; lower the "
                       "learning rate or the regularization rate, then press play.")
        self._halting = True
        try:
            self._frame()
        finally:
            self._halting = False

    def _publish(self, kind, obj):
        payload = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
        self.latest[kind] = payload
        self.publish(kind, payload)

    def _publish_state(self):
        self._publish("state", self.state())

    def state(self):
        """Everything a page needs to lay itself out (sent on connect and on each reset)."""
        d, cfg = self.data, self.config
        return {
            "type": "state", "run": self._run, "config": cfg, "choices": C.choices(),
            "backend": self.backend, "device": self.device_name,
            "problem": d.problem, "classes": d.classes, "class_names": d.class_names,
            "extent": [round(v, 6) for v in d.extent], "grid": N.GRID,
            "target_scale": d.target_scale, "csv": self.csv is not None,
            "sizes": [len(cfg["features"])] + cfg["layers"] + [N.outputs(d.problem,
                                                                          d.classes)],
            "train": _points(d, d.train), "test": _points(d, d.test),
            "history": self.history, "previews": _previews(cfg["classes"]),
        }


    def _train_one_epoch(self):
        t0 = time.perf_counter()
        try:
            while True:
                self._step()
                if self._pos == 0:
                    break
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            return ("error", f"training stopped: {type(e).__name__}: {e}")
        finally:
            self._train_time += time.perf_counter() - t0
        return None


def _r(v):
    return None if v is None or not math.isfinite(v) else round(float(v), 5)


def _points(d, idx):
    y = d.y[idx]
    return {"x": np.round(d.X[idx], 4).tolist(),
            "y": y.tolist() if d.problem == "classification" else np.round(y, 4).tolist()}


_preview_cache = {}


def _previews(classes):
    """A few points of each generated dataset, for the thumbnails."""
    if classes not in _preview_cache:
        out = {}
        for name in D.DATASETS:
            d = D.generate(name, PREVIEW_POINTS, 0, classes, 1, 50)
            y = d.y if d.problem == "classification" else np.round(d.y, 3)
            out[name] = {"x": np.round(d.X, 2).tolist(), "y": y.tolist()}
        _preview_cache[classes] = out
    return _preview_cache[classes]
