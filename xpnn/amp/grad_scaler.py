"""``torch.amp.GradScaler``: loss scaling, so that small gradients survive a low-precision
backward, and steps skipped when the scaled gradients overflowed.

The recipe (PyTorch's)::

    scaler = xpnn.amp.GradScaler("cpu")
    for x, y in loader:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()      # gradients of loss * scale
        scaler.unscale_(opt)               # optional: true gradients, e.g. to clip them
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)                   # skipped if a gradient is inf/NaN
        scaler.update()                    # scale * backoff after a skip, * growth after
                                           # growth_interval steps without one
"""
from __future__ import annotations

import math
import struct

from .. import backend as B
from ..autograd import TensorBase, no_grad

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _f32(x):
    """``x`` rounded to float32, as PyTorch's scale tensor holds it (inf past its range)."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


class GradScaler:
    """Scales the loss and unscales the gradients, skipping a step whose gradients are not
    finite (``torch.amp.GradScaler``: same arguments, methods, errors and scale updates).

    Args:
        device: the device type the scaler is meant for ("cuda", "cpu"); recorded only.
            PyTorch turns a "cuda" scaler off (with a warning) where CUDA is missing; xpnn's
            works on whatever backend the tensors live on, so it stays on.
        init_scale: the first scale factor.
        growth_factor: the scale's factor after ``growth_interval`` steps in a row without
            inf/NaN gradients (> 1).
        backoff_factor: the scale's factor after a skipped step (< 1).
        growth_interval: the number of such steps before the scale grows.
        enabled: False makes every method pass through (``scale`` returns its input,
            ``step`` calls ``optimizer.step()``).

    The scale and its growth counter are host numbers (the scale rounded to float32, as
    PyTorch's scale tensor), so scaling and updating cost no device reads. Deciding whether
    to skip a step does: :meth:`step` reads one flag to the host per optimizer (PyTorch's
    CPU scaler does the same; its CUDA one avoids it only for fused optimizers).
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = bool(enabled)
        if not self._enabled:
            return
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: the growth factor must be > 1.0, got "
                             f"{growth_factor!r}")
        if not backoff_factor < 1.0:
            raise ValueError(f"GradScaler: the backoff factor must be < 1.0, got "
                             f"{backoff_factor!r}")
        if not isinstance(growth_interval, int) or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got "
                             f"{growth_interval!r}")
        self._init_scale = float(init_scale)
        self._scale = None  # set by the first scale(), as PyTorch's lazy scale tensor
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._growth_tracker = None
        self._per_optimizer_states = {}

    # -- the iteration ----------------------------------------------------------------------
    def scale(self, outputs):
        """``outputs`` times the scale factor: a Tensor, or tensors in (nested) lists,
        tuples or other iterables, returned in the same kind of container."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = _f32(self._init_scale)
            self._growth_tracker = self._init_growth_tracker
        return self._scaled(outputs)

    def _scaled(self, val):
        if isinstance(val, TensorBase) or B.is_array(val):
            return val * self._scale
        if isinstance(val, (list, tuple)):
            return type(val)(self._scaled(v) for v in val)
        if hasattr(val, "__iter__"):
            return map(self._scaled, val)
        raise ValueError(f"GradScaler.scale: outputs must be a Tensor or an iterable of "
                         f"Tensors, got {type(val).__name__}")

    def _check_started(self, funcname):
        if self._scale is None:
            raise RuntimeError(f"GradScaler.{funcname}: no scale yet; this may indicate your "
                               "script did not use scaler.scale(loss or outputs) earlier in "
                               "the iteration")

    def _state(self, optimizer):
        return self._per_optimizer_states.setdefault(
            id(optimizer), {"stage": _READY, "found_inf": {}, "found_host": None})

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale, in place, and note whether any is
        inf/NaN. Once per optimizer between :meth:`update` calls (then :meth:`step` does
        not unscale again); call it before clipping or inspecting gradients."""
        if not self._enabled:
            return
        self._check_started("unscale_")
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = _f32(1.0 / self._scale) if self._scale else math.inf
        found = state["found_inf"]  # {backend: 0-d bool array on that device}
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if B.dtype_name(g.dtype) == "float16":
                        raise ValueError(f"GradScaler.unscale_: attempting to unscale float16 "
                                         f"gradients (a parameter of shape {p.shape}); keep "
                                         "the parameters the optimizer updates in float32")
                    xp = g.xp
                    bad = xp.logical_not(xp.all(xp.isfinite(g.array)))
                    have = found.get(g._be)
                    found[g._be] = bad if have is None else xp.logical_or(have, bad)
                    g.mul_(inv_scale)
        state["stage"] = _UNSCALED

    def _found_inf(self, state):
        """Whether the optimizer's gradients had an inf/NaN: one read to the host per
        device, once per iteration."""
        if state["found_host"] is None:
            state["found_host"] = any(bool(B.to_numpy(flag)) for flag in
                                      state["found_inf"].values())
        return state["found_host"]

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` on the unscaled gradients (unscaling first
        unless :meth:`unscale_` did), skipped if any gradient is inf/NaN. Returns what
        ``optimizer.step`` returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_started("step")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        if not state["found_inf"]:
            raise RuntimeError("GradScaler.step: no inf checks were recorded for this "
                               "optimizer: none of its parameters has a gradient")
        retval = None if self._found_inf(state) else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return retval

    def update(self, new_scale=None):
        """End the iteration: the scale times ``backoff_factor`` if any optimizer's step was
        skipped, times ``growth_factor`` after ``growth_interval`` unskipped iterations in a
        row (kept if that overflows float32); or ``new_scale`` (a float or a one-element
        Tensor) if given."""
        if not self._enabled:
            return
        self._check_started("update")
        if new_scale is not None:
            if isinstance(new_scale, TensorBase):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise ValueError(f"GradScaler.update: new_scale should be a float or a "
                                     f"one-element Tensor that does not require grad, got "
                                     f"shape {new_scale.shape} (requires_grad="
                                     f"{new_scale.requires_grad})")
                new_scale = new_scale.item()
            elif not isinstance(new_scale, (int, float)) or isinstance(new_scale, bool):
                raise TypeError(f"GradScaler.update: new_scale should be a float or a "
                                f"one-element Tensor, got {type(new_scale).__name__}")
            self._scale = _f32(float(new_scale))
        else:
            states = [s for s in self._per_optimizer_states.values() if s["found_inf"]]
            if not states:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior to "
                                   "update(); call scaler.step(optimizer) first")
            if any(self._found_inf(s) for s in states):
                self._scale = _f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = _f32(self._scale * self._growth_factor)
                    if math.isfinite(grown):
                        self._scale = grown
                    successful = 0
                self._growth_tracker = successful
        self._per_optimizer_states = {}

    # -- settings and state ---------------------------------------------------------------
    def get_scale(self):
        """The current scale (a float); 1.0 when disabled."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else \
            self._growth_tracker

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """``{"scale", "growth_factor", "backoff_factor", "growth_interval",
        "_growth_tracker"}`` (PyTorch's keys); empty when disabled. Take it after
        :meth:`update`."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        """Restore :meth:`state_dict`'s values (nothing when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = _f32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            if self._per_optimizer_states:
                raise RuntimeError("GradScaler: an instance may only be pickled at the "
                                   "beginning of an iteration, or at the end after "
                                   "scaler.update()")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = state["_growth_tracker"] = None
        return state
