"""Session: a Trainer owned by a background thread that the server sends commands.

The thread owns the model, optimizer and data; nothing else touches them, so there are no
locks around the math. HTTP handlers call :meth:`Session.call`, which queues a command and
waits for the thread to run it between two training steps. Frames and state go out through
``publish(kind, payload_bytes)``, which must never block (the server keeps only the newest
frame per tab, so a slow tab drops frames and never slows training).
"""
from __future__ import annotations

import math
import queue
import threading
import time
import traceback

import numpy as np

import xpnn
from xpnn import nn

from . import config as C
from . import datasets as D
from . import export
from . import network as N
from .trainer import Trainer

MAX_WEIGHT = 1e4


class Session(Trainer):
    """A live training run on its own thread (arguments as :class:`Trainer`)."""

    def __init__(self, backend="numpy", device=None, config=None, publish=None, fps=30.0):
        super().__init__(backend, device, config, publish, fps)
        self._queue = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = None

    def _interrupted(self):
        return not self._queue.empty()

    # -- the thread ---------------------------------------------------------------------
    def start(self):
        """Start the training thread; returns once the first frame is published."""
        self._thread = threading.Thread(target=self._main, name="xpnn-playground-trainer",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("playground: the training thread did not start within 60 s")
        if self.status[0] == "error":
            raise RuntimeError(f"playground: {self.status[1]}")
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def call(self, name, *args, timeout=30.0):
        """Run command ``name`` on the training thread and return its result (or raise its
        ValueError, which the server answers with HTTP 400)."""
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the training thread is not running")
        done, box = threading.Event(), {}
        self._queue.put((name, args, done, box))
        if not done.wait(timeout):
            raise TimeoutError(f"the training thread did not answer {name!r} in {timeout} s")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def _main(self):
        # Grad mode, the default backend and the init generator are thread-local: set them
        # here. Overflow while training diverges is expected and handled by the NaN guard,
        # so NumPy's floating-point warnings are silenced for this thread only.
        with np.errstate(all="ignore"):
            try:
                xpnn.set_default_backend(self.backend, self.device)
                self._new_data()
                self._publish_state()
                self._frame()
            except Exception as e:  # noqa: BLE001 - reported to start() and the page
                traceback.print_exc()
                self.status = ("error", f"could not start: {type(e).__name__}: {e}")
                self._ready.set()
                return
            self._ready.set()
            while not self._stop.is_set():
                try:
                    if self.running:
                        self._drain(block=False)
                        if self.running:
                            self._train_until(time.perf_counter() + self._next_wait)
                            self._frame()
                    else:
                        self._drain(block=True)
                except Exception as e:  # noqa: BLE001 - the thread must outlive any bug
                    traceback.print_exc()
                    self.running = False
                    self.status = ("error", f"training stopped: {type(e).__name__}: {e}")
                    try:
                        self._frame()
                    except Exception:  # noqa: BLE001 - the page keeps its last frame
                        pass

    def _drain(self, block):
        while True:
            try:
                item = self._queue.get(timeout=0.5) if block else self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                return
            name, args, done, box = item
            try:
                box["result"] = getattr(self, "_cmd_" + name)(*args)
            except Exception as e:  # noqa: BLE001 - handed to the caller's thread
                if not isinstance(e, (ValueError, KeyError, TypeError)):
                    traceback.print_exc()
                box["error"] = e
            done.set()
            block = False

    # -- commands (run on the training thread) ----------------------------------------
    def _cmd_config(self, update):
        old = self.config
        new = C.merge(old, update, has_csv=self.csv is not None)
        self.config = new
        changed = {k for k in new if new[k] != old[k]}
        try:
            reset = self._apply(new, changed)
        except Exception:
            self.config = old          # a failure leaves the previous run as it was
            self._new_data()
            raise
        if reset:
            self.running = False
            self.status = ("paused", "Network reset. Press play to train.")
        if changed:
            self._publish_state()
        self._frame()
        return {"config": new, "reset": reset, "changed": sorted(changed)}

    def _apply(self, new, changed):
        """Rebuild what a config change needs; returns whether the network was reset."""
        reset = bool(changed & set(C.DATA_KEYS + C.NETWORK_KEYS))
        if changed & set(C.DATA_KEYS):
            self._new_data()
        elif changed & set(C.NETWORK_KEYS):
            self._new_model()
        else:
            if "dropout" in changed:
                linears = [m for m in self.model if isinstance(m, nn.Linear)]
                self.model = N.build(self._specs(), self.backend, self.device, linears)
            if "optimizer" in changed:
                self._new_optimizer()
            elif "learning_rate" in changed:
                for group in self.opt.param_groups:
                    group["lr"] = new["learning_rate"]
            if "batch_size" in changed:
                self._new_loader()
        return reset

    def _cmd_control(self, action):
        if action == "play":
            self.running = True
            self.status = ("running", "Training.")
        elif action == "pause":
            self.running = False
            self.status = ("paused", f"Paused at epoch {self.epoch}.")
        elif action == "step":
            self.running = False
            start = self.epoch
            with_errors = self._train_one_epoch()
            self.status = with_errors or ("paused", f"Stepped from epoch {start} to "
                                          f"{self.epoch}.")
        elif action == "reset":
            self._new_model()
            self.running = False
            self.status = ("paused", "Network reset. Press play to train.")
            self._publish_state()
        else:
            raise ValueError(f"control: action must be one of ['play', 'pause', 'step', "
                             f"'reset'], got {action!r}")
        self._frame()
        return {"action": action, "epoch": self.epoch, "running": self.running}

    def _cmd_upload(self, text):
        data = D.parse_csv(text, self.config["train_ratio"], self.config["seed"])
        self.csv = text
        self.config = dict(self.config, dataset="csv")
        self._new_data(data)
        self.running = False
        self.status = ("paused", f"Loaded {len(data.X)} points from the CSV ("
                       f"{data.problem}" + (f", {data.classes} classes)." if data.classes
                                            else ")."))
        self._publish_state()
        self._frame()
        return {"points": len(data.X), "problem": data.problem, "classes": data.classes}

    def _cmd_weight(self, layer, to, source, value):
        names = N.linear_names(self.model)
        _index("layer", layer, len(names))
        key = names[layer]
        weight = next(m for i, m in enumerate(self.model) if str(i) == key)
        _index("to", to, weight.out_features)
        if source is not None:
            _index("from", source, weight.in_features)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or abs(value) > MAX_WEIGHT:
            raise ValueError(f"weight: value must be a finite number with |value| <= "
                             f"{MAX_WEIGHT:g}, got {value!r}")
        name = f"{key}.bias" if source is None else f"{key}.weight"
        W = np.array(dict(self.model.named_parameters())[name].numpy(), copy=True)
        if source is None:
            W[to] = value
        else:
            W[to, source] = value
        self.model.load_state_dict({name: W}, strict=False)
        self._frame()
        return {"name": name, "value": float(W[to] if source is None else W[to, source])}

    def _cmd_export_weights(self):
        return export.weights_bytes(self.model)

    def _cmd_export_script(self):
        export.weights_bytes(self.model)  # probes which xpnn.load form the engine has
        return export.script(self.config, self._specs(), self.data.problem,
                             self.data.class_names, self.epoch)

    def _cmd_predict(self, points):
        P = _points_array(points)
        X = xpnn.tensor(D.features(P, self.config["features"]), backend=self.backend,
                        device=self.device)
        Z, _ = N.forward_all(self.model, X, ())
        out = N.host_outputs(Z, self.data.problem, self.data.classes)
        return {"epoch": self.epoch, "problem": self.data.problem,
                "predictions": np.round(out, 7).tolist()}



def _index(name, v, n):
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
        raise ValueError(f"weight: {name} must be an integer in [0, {n - 1}], got {v!r}")


def _points_array(points):
    if not isinstance(points, list) or not 1 <= len(points) <= 10_000:
        raise ValueError("predict: points must be a list of 1 to 10000 [x1, x2] pairs, got "
                         f"{type(points).__name__}" + (f" of length {len(points)}"
                                                      if isinstance(points, list) else ""))
    for i, p in enumerate(points):
        if not (isinstance(p, list) and len(p) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in p)):
            raise ValueError(f"predict: points[{i}] must be [x1, x2] with finite numbers, "
                             f"got {p!r}")
    return np.array(points, dtype=np.float32)
