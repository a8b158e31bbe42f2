"""What ``fit`` logs and checks: the :class:`History` of a run, the pending losses and gradient
sums of the steps between host reads (``_Watch``), the non-finite check that names the epoch,
step and parameter, and the epoch totals combined over a process group's ranks.
"""
from __future__ import annotations

import time

import numpy as np

from . import backend as B


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


class History:
    """Per-epoch logs of a ``fit`` run.

    Attributes:
        history: dict of key -> list with one value per epoch: ``loss``, each train metric,
            ``val_loss`` and ``val_<metric>`` with ``val``, ``lr`` (when the optimizer has
            one), ``time`` (seconds), ``skipped`` (non-finite steps skipped).
        epoch: the 0-based epoch numbers run.
    """

    def __init__(self):
        self.history, self.epoch = {}, []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for k, v in logs.items():
            # a key first seen late (e.g. after resuming) is padded so columns stay aligned
            self.history.setdefault(k, [None] * (len(self.epoch) - 1)).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    @property
    def wall_time(self):
        """Total seconds spent in the recorded epochs (training and validation)."""
        return float(sum(t for t in self.history.get("time", []) if t is not None))

    def best(self, key, mode="auto"):
        """(0-based epoch, value) of the best ``key``; mode as in EarlyStopping."""
        vals = self.history[key]
        mode = ("max" if "acc" in key and "loss" not in key else "min") if mode == "auto" \
            else mode
        pick = max if mode == "max" else min
        i = pick(range(len(vals)), key=lambda j: vals[j])
        return self.epoch[i], vals[i]

    def to_dict(self):
        """JSON-ready dict: ``{"epoch": [...], key: [...]}``, arrays as nested lists."""
        out = {"epoch": list(self.epoch)}
        for k, vals in self.history.items():
            out[k] = [v.tolist() if isinstance(v, np.ndarray) else v for v in vals]
        return out

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"History({len(self.epoch)} epochs: {keys})"


def _combine(world, loss_sum, samples, metrics):
    """(loss sum, samples, metric results) over every rank's data: one all-reduce of
    the host totals. A metric without totals() gives this rank's result (fit then logs
    rank 0's). Ranks that hold the same data give the same means as one of them; only
    counts (the confusion matrix) are then multiplied by the ranks."""
    totals = [m.totals() for m in metrics]
    parts = [np.array([loss_sum, samples], dtype=np.float64)]
    flat = world.sum(np.concatenate(parts + [t for t in totals if t is not None]))
    at, results = 2, {}
    for m, t in zip(metrics, totals):
        if t is None:
            results[m.name] = m.result()
        else:
            results[m.name] = m.from_totals(flat[at:at + len(t)])
            at += len(t)
    return float(flat[0]), float(flat[1]), results


class _Watch:
    """The losses and gradient sums of the steps since the last sync, on the device, and
    the running totals on the host."""

    def __init__(self, ctx, total, names, bar):
        self.ctx, self.total, self.names, self.bar = ctx, total, names, bar
        self.losses, self.sizes, self.grads = [], [], []
        self.loss_sum, self.samples, self.skipped, self.shown = 0.0, 0, 0, 0
        self.t0 = time.perf_counter()

    @property
    def pending(self):
        return len(self.losses)

    def add(self, step, loss, size, sums):
        self.losses.append(loss)
        self.sizes.append(size)
        if sums is not None:
            self.grads.append(sums)

    def sync(self, step):
        """Copy the pending values to the host (one transfer each) and check them."""
        if not self.losses:
            return
        xp = B.backend_of(self.losses[0]).xp
        first = step - len(self.losses) + 1  # the step of the first pending value
        vals = B.to_numpy(xp.stack(self.losses)).astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(vals))
        bad_g = first_nonfinite_grad(self.names, B.to_numpy(xp.stack(self.grads))) \
            if self.grads else None
        if bad_g is not None and (not bad.size or bad_g[0] < bad[0]):
            _stop_nonfinite(self.ctx, first + bad_g[0], self.total,
                            f"the gradient of parameter {bad_g[1]!r} is NaN/Inf",
                            "Use xpnn.detect_anomaly() to find the op, lower the learning rate")
        if bad.size:
            _stop_nonfinite(self.ctx, first + int(bad[0]), self.total,
                            f"the loss is {vals[bad[0]]}",
                            "Lower the learning rate, check the inputs")
        self.loss_sum += float(np.dot(vals, self.sizes))
        self.samples += sum(self.sizes)
        self.losses.clear(), self.sizes.clear(), self.grads.clear()
        if self.bar is not None:
            self.bar.update(step + 1 - self.shown)
            self.shown = step + 1
            rate = self.samples / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.set_postfix(loss=f"{self.loss_sum / self.samples:.4f}",
                                 samples_per_s=f"{rate:.0f}")

    def logs(self, metrics, skipping, world):
        """The epoch's logs: loss and metrics over ``world``'s ranks (one: this one)."""
        loss_sum, samples, results = _combine(world, self.loss_sum, self.samples, metrics)
        if samples == 0:
            if self.skipped:
                raise NonFiniteLossError(f"fit: every step of epoch {self.ctx.epoch + 1} had "
                                         f"a non-finite loss ({self.skipped} skipped)")
            raise ValueError("fit: the training data yielded no batches")
        logs = {"loss": loss_sum / samples, **results}
        if skipping:  # steps every rank left out together
            logs["skipped"] = self.skipped
        return logs


def grad_sums(params):
    """One device vector: the sum of each parameter's gradient (0 where it has none).

    A NaN or Inf anywhere in a gradient makes its sum non-finite, so stacking these vectors
    and reading them once every few steps checks every gradient without a per-step sync.
    Sums accumulate in float32 (float64 for float64 parameters) so float16 gradients do not
    overflow.

    Args:
        params: list of Parameters, all on one backend.
    Returns:
        device array of shape (len(params),).
    """
    xp, sums, mixed = params[0]._be.xp, [], False
    f32, f64 = xp.float32, xp.float64
    for p in params:  # one entry per parameter, so rows of different steps line up
        g = None if p.grad is None else p.grad.array
        if g is None:
            sums.append(xp.zeros((), dtype=f32, device=p._be.device))
        elif g.dtype == f32 or g.dtype == f64:
            sums.append(xp.sum(g))
            mixed = mixed or g.dtype == f64
        elif g.dtype == xp.complex64 or g.dtype == xp.complex128:  # a real sum: NaN/Inf
            sums.append(xp.sum(xp.real(g)) + xp.sum(xp.imag(g)))  # in either part shows
            mixed = mixed or g.dtype == xp.complex128
        else:  # float16/bfloat16
            sums.append(xp.sum(g, dtype=f32))
    if mixed:
        sums = [xp.astype(s, f64) for s in sums]
    return xp.stack(sums)


def first_nonfinite_grad(names, rows):
    """(row, parameter name) of the first non-finite gradient sum in ``rows``, or None.

    Args:
        names: the parameters' names, in the order given to ``grad_sums``.
        rows: host array (steps, len(names)) of stacked ``grad_sums`` results.
    """
    bad = np.argwhere(~np.isfinite(np.asarray(rows, dtype=np.float64)))
    if bad.size == 0:
        return None
    row, col = (int(v) for v in bad[0])
    return row, names[col]


def _stop_nonfinite(ctx, step, total, what, advice):
    """Close the progress bar and raise NonFiniteLossError naming epoch and step."""
    if ctx.__dict__.get("_bar") is not None:
        ctx._bar.close()
    of = f" of {total}" if total else ""
    raise NonFiniteLossError(f"fit: {what} at epoch {ctx.epoch + 1} of {ctx.epochs}, step "
                             f"{step + 1}{of} (counting from 1); training stopped. {advice}, "
                             "or pass on_nonfinite='skip' to leave such steps out")
