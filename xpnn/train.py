"""The training loop: ``fit`` (with progress bar, metrics and callbacks), ``evaluate``,
``predict`` and ``History``.

A training step reads nothing back from the device (tests/test_host_sync.py counts): each
step's loss and per-parameter gradient sums stay on the device, and every ``sync_every``
steps the pending ones are stacked and copied to the host, one transfer each. That read
feeds the progress bar and checks that every loss and gradient was finite, so a NaN is
reported with its exact epoch and step. (``on_nonfinite="skip"`` is the exception: deciding
to skip a step needs its values, two reads per step.) Ops keep to the same rule: label and
id range checks read the host only for arrays that live there (see cross_entropy).

In a process group (``xpnn.distributed``) with more than one rank, ``fit`` trains a
``DistributedDataParallel`` model on a share of the data per rank: arrays are split by a
``DistributedSampler`` (a loader is taken as this rank's share: give it one), the epoch's
loss and metric totals are summed over the ranks (one all-reduce per epoch, so the logs
describe the whole data), every rank logs rank 0's numbers so callbacks decide alike, and
only rank 0 prints and writes files (see callbacks.py). ``evaluate`` and ``predict`` never
communicate: a rank may call them alone.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from . import backend as B
from .autograd import no_grad, unwrap
from .tensor import Tensor
from .callbacks import Callback, FitContext
from .data.loader import DataLoader
from .distributed import group as dist
from .metrics import Metric, get_metric


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


def _model_backend(model):
    for p in model.parameters():
        return p._be
    return B.get_backend(None)


def _in_model_dtype(a, model, be):
    """A NumPy float array as a Tensor in the model's float dtype when that is float64 (host
    float64 data is otherwise narrowed to float32, which a float64 model refuses); anything
    else as it is."""
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        return a
    for p in model.parameters():
        if p._be.is_floating(p.dtype):
            if B.dtype_name(p.dtype) == "float64":
                return Tensor(be.asarray(a, dtype="float64"), _be=be)
            break
    return a


def _as_loader(data, model, batch_size, shuffle, name, world=None):
    """A DataLoader for ``(X, y)`` arrays, or the iterable as it is. With ``world`` (a
    :class:`_World` of several ranks) arrays are split between the ranks: by a
    DistributedSampler when ``shuffle`` (equal shares, so every rank runs the same steps),
    else every ``world.size``-th sample from ``world.rank`` (validation: none twice)."""
    if isinstance(data, tuple) and len(data) == 2 and hasattr(data[0], "shape"):
        be = _model_backend(model)
        X, y = (_in_model_dtype(a, model, be) for a in data)
        kw = dict(batch_size=batch_size, backend=be.name, device=be.device)
        if world is None or world.size == 1:
            return DataLoader(X, y, shuffle=shuffle, **kw)
        if shuffle:
            from .utils.data import DistributedSampler
            sampler = DistributedSampler(range(len(X)), world.size, world.rank, seed=world.seed)
            return DataLoader(X, y, sampler=sampler, **kw)
        return DataLoader(X, y, sampler=_EveryNth(len(X), world.rank, world.size), **kw)
    if isinstance(data, DataLoader):
        be = _model_backend(model)
        if data.be is not be and any(True for _ in model.parameters()):
            raise ValueError(f"{name}: the model's parameters are on {be.name}:{be.device} but "
                             f"the loader yields {data.be.name}:{data.be.device} batches; make "
                             f"the DataLoader with backend={be.name!r}")
    if not hasattr(data, "__iter__"):
        raise TypeError(f"{name}: expected a DataLoader, an iterable of (x, y) batches or an "
                        f"(X, y) tuple of arrays, got {type(data).__name__}")
    return data


class _EveryNth:
    """Samples ``rank, rank + size, ...`` of ``n``: a rank's share for validation, with no
    sample repeated (a DistributedSampler pads the shares to equal lengths)."""

    def __init__(self, n, rank, size):
        self.indices = range(rank, n, size)

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


class _World:
    """The process group ``fit`` runs in: ``rank``, ``size`` (1 outside a group) and a
    shuffle ``seed`` that rank 0 drew and every rank shares. ``_World(alone=True)`` is this
    process alone, whatever group it is in."""

    def __init__(self, alone=False):
        self.rank, self.size, self.seed = 0, 1, 0
        if not alone and dist.is_initialized() and dist.get_world_size() > 1:
            self.rank, self.size = dist.get_rank(), dist.get_world_size()
            seed = [int(B.host_rng().integers(2 ** 31))]
            dist.broadcast_object_list(seed)
            self.seed = seed[0]

    def __bool__(self):  # a group of several ranks
        return self.size > 1

    def check(self, model, train):
        """Refuse what would make the ranks train apart or hang."""
        from .nn.parallel import DistributedDataParallel
        if not isinstance(model, DistributedDataParallel):
            raise TypeError(f"fit: running in a process group of {self.size} ranks, but the "
                            f"model is a {type(model).__name__}, not a DistributedDataParallel:"
                            f" each rank would train its own copy. Wrap it: model = "
                            f"xpnn.nn.parallel.DistributedDataParallel(model)")
        lengths = [None] * self.size
        dist.all_gather_object(lengths, len(train) if hasattr(train, "__len__") else None)
        if len(set(lengths)) > 1:
            raise ValueError(f"fit: the ranks' training loaders have different lengths "
                             f"{lengths} (batches per rank); every rank must run the same "
                             f"steps (a DistributedSampler gives equal shares)")

    def sum(self, vector):
        """``vector`` (float64, host) summed over the ranks."""
        vector = np.ascontiguousarray(vector, dtype=np.float64)
        if self:
            dist.all_reduce(vector)
        return vector

    def agree(self, value):
        """Rank 0's ``value`` on every rank (so every rank's callbacks decide alike)."""
        if not self:
            return value
        box = [value]
        dist.broadcast_object_list(box)
        return box[0]


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


def _lr_of(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        lr = groups[0].get("lr") if isinstance(groups[0], dict) else None
        if lr is not None:
            return float(lr)
    lr = getattr(optimizer, "lr", None)
    return float(lr) if isinstance(lr, (int, float)) else None


def _progress_mode(progress):
    if progress in (False, None):
        return None
    if progress == "lines":
        return "lines"
    if progress is True:
        return "bar" if sys.stderr.isatty() else None
    raise ValueError(f"fit: progress must be True, False or 'lines', got {progress!r}")


def _fmt(logs):
    return "  ".join(f"{k}={v:.4g}" for k, v in logs.items()
                     if isinstance(v, float) and k != "time")


def fit(model, train, loss, optimizer, epochs=1, val=None, metrics="auto", callbacks=(),
        progress=True, on_nonfinite="raise", sync_every=20, batch_size=32, start_epoch=0,
        resume_from=None):
    """Train ``model`` for ``epochs`` epochs; return the :class:`History`.

    Args:
        model: an ``nn.Module``.
        train: a ``DataLoader`` (or any re-iterable of ``(x, y)`` Tensor batches), or an
            ``(X, y)`` tuple of arrays, batched with ``batch_size`` and shuffled.
        loss: ``loss(output, y)`` -> scalar Tensor (e.g. ``F.cross_entropy``).
        optimizer: an ``xpnn.optim`` optimizer over the model's parameters.
        epochs: the epoch count to reach (epochs ``start_epoch .. epochs-1`` run).
        val: validation data (same forms as ``train``), evaluated after every epoch.
        metrics: names or ``xpnn.metrics.Metric`` objects, computed on the training batches
            (in train mode, as seen during the epoch) and on ``val``. ``"auto"``: accuracy
            for a classifier (a classification loss, or integer or bool targets), none for
            a regression (float targets with another loss), decided at the first batch.
        callbacks: ``xpnn.callbacks.Callback`` objects.
        progress: True: a tqdm bar per epoch when stderr is a terminal, quiet otherwise;
            ``"lines"``: one summary line per epoch on stdout; False: quiet.
        on_nonfinite: ``"raise"``: stop with :class:`NonFiniteLossError` naming epoch and step
            (detected at the next sync, within ``sync_every`` steps) where the loss or a
            parameter's gradient (named) was NaN/Inf; ``"skip"``: leave out steps whose loss
            or gradients are not finite (costs two device syncs per step).
        sync_every: steps between reads of the loss from the device.
        batch_size: batch size when ``train``/``val`` are arrays.
        start_epoch: first epoch to run (for resuming from a checkpoint).
        resume_from: a checkpoint from ``xpnn.save_checkpoint`` (e.g. by
            ``ModelCheckpoint(save_optimizer=True)``): model, optimizer, the scheduler of a
            callback and every RNG state are restored and training continues at the saved
            epoch, exactly as the uninterrupted run would have (xpnn.io.resume_fit).
    Returns:
        History
    """
    if on_nonfinite not in ("raise", "skip"):
        raise ValueError(f"fit: on_nonfinite must be 'raise' or 'skip', got {on_nonfinite!r}")
    for arg, value, low in (("epochs", epochs, 1), ("sync_every", sync_every, 1),
                            ("start_epoch", start_epoch, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"fit: {arg} must be an int >= {low}, got {value!r}")
    metrics = _metric_list(metrics)
    for m in [] if metrics == "auto" else metrics:
        get_metric(m)  # a bad name fails here, not after the first step
    cbs = list(callbacks)
    for cb in cbs:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be xpnn.callbacks.Callback objects, got "
                            f"{type(cb).__name__}")
    world = _World()
    train = _as_loader(train, model, batch_size, True, "fit(train=)", world)
    val = None if val is None else _as_loader(val, model, max(batch_size, 256), False,
                                              "fit(val=)", world)
    if world:
        world.check(model, train)
    mode = _progress_mode(progress) if world.rank == 0 else None
    history = History()
    ctx = FitContext(model, optimizer, history, epochs, world.rank, world.size)
    if resume_from is not None:
        from .io.checkpoint import resume_fit
        start_epoch, ctx.global_step = resume_fit(resume_from, model, optimizer, cbs, train)
    for cb in cbs:
        cb.set_context(ctx)
        cb.on_train_begin()
    for epoch in range(start_epoch, epochs):
        ctx.epoch = epoch
        if hasattr(train, "set_epoch"):  # a DistributedSampler's shuffle; a resumed loader
            train.set_epoch(epoch)       # replays the shuffles of the epochs it missed
        for cb in cbs:
            cb.on_epoch_begin(epoch)
        t0 = time.perf_counter()
        logs, metrics = _train_epoch(model, train, loss, optimizer, metrics, cbs, ctx, mode,
                                     on_nonfinite, sync_every, world)
        if val is not None:
            for k, v in _evaluate(model, val, loss, metrics, world).items():
                logs["val_" + k] = v
        lr = _lr_of(optimizer)
        if lr is not None:
            logs["lr"] = lr
        logs["time"] = time.perf_counter() - t0
        logs = world.agree(logs)
        history.append(epoch, logs)
        if mode is not None:
            line = f"epoch {epoch + 1}/{epochs}  {_fmt(logs)}  ({logs['time']:.1f}s)"
            if mode == "bar":
                _bar_close(ctx, _fmt(logs))
            else:
                print(line, flush=True)
        for cb in cbs:
            cb.on_epoch_end(epoch, logs)
        if world:  # rank 0's decision; and its files are complete before anyone goes on
            ctx.stop_training = world.agree(ctx.stop_training)
            dist.barrier()
        if ctx.stop_training:
            break
    for cb in cbs:
        cb.on_train_end()
    return history


def _bar_close(ctx, summary):
    bar = getattr(ctx, "_bar", None)
    if bar is not None:
        bar.set_postfix_str(summary)
        bar.close()
        ctx._bar = None


def _train_epoch(model, train, loss_fn, optimizer, metrics, cbs, ctx, mode, on_nonfinite,
                 sync_every, world):
    """One pass over ``train``; returns the epoch's logs (loss and metrics, on the host;
    summed over the ranks when the loader is sharded) and the metrics (``"auto"`` chosen)."""
    model.train()
    names, metrics = metrics, None
    total = len(train) if hasattr(train, "__len__") else None
    named = list(model.named_parameters())
    watch = _Watch(ctx, total, [n for n, _ in named], _bar(ctx, mode, total))
    params = [p for _, p in named]
    zero_grad = getattr(optimizer, "zero_grad", None) or model.zero_grad
    step = -1
    for step, (xb, yb) in enumerate(_pairs(train)):
        out = model(xb)
        L = loss_fn(out, yb)
        if on_nonfinite == "skip" and not _finite(L.array, world):
            watch.skipped += 1
            continue
        zero_grad()
        L.backward()
        sums = grad_sums(params) if params else None
        if on_nonfinite == "skip" and sums is not None and not _finite(sums, world):
            watch.skipped += 1
            continue
        optimizer.step()
        ctx.global_step += 1
        if metrics is None:
            names, metrics = _started(names, loss_fn, yb)
        for m in metrics:
            m.update(out.array, unwrap(yb))
        watch.add(step, L.array, int(out.shape[0]), None if on_nonfinite == "skip" else sums)
        for cb in cbs:
            cb.on_batch_end(step)
        if watch.pending >= sync_every:
            watch.sync(step)
    watch.sync(step)
    if metrics is None:  # no step was taken
        names, metrics = _started([] if names == "auto" else names, loss_fn, None)
    return watch.logs(metrics, on_nonfinite == "skip", world), names


# the losses of classifiers, whose outputs "auto" scores with accuracy even for float targets
# (one-hot rows, 0/1 scores)
_CLASSIFYING = {"cross_entropy", "nll_loss", "binary_cross_entropy",
                "binary_cross_entropy_with_logits", "CrossEntropyLoss", "NLLLoss", "BCELoss",
                "BCEWithLogitsLoss"}


def _started(metrics, loss, target):
    """(names, fresh Metric objects) at the first batch; ``"auto"`` becomes accuracy for a
    classifier (a classification loss, or integer or bool targets) and none otherwise."""
    if isinstance(metrics, str) and metrics == "auto":
        kind = getattr(loss, "__name__", type(loss).__name__)
        labels = target is not None and not B.backend_of(unwrap(target)).xp.isdtype(
            unwrap(target).dtype, "real floating")
        metrics = ["accuracy"] if kind in _CLASSIFYING or labels else []
    ms = [get_metric(m) for m in metrics]
    for m in ms:
        m.reset()
    return metrics, ms


def _pairs(batches, what="fit: each training batch"):
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"{what} must be an (x, y) pair, got {type(batch).__name__} "
                            f"(a loader of inputs alone has no labels to score)")
        yield batch


def _finite(arr, world):
    """All of ``arr`` finite on every rank (a host read, and in a group an all-reduce: used
    only where a step must be skipped, which all ranks must do together)."""
    ok = np.all(np.isfinite(np.asarray(B.to_numpy(arr), dtype=np.float64)))
    return bool(world.sum([float(ok)])[0] == world.size)


def _bar(ctx, mode, total):
    if mode != "bar":
        return None
    from tqdm.auto import tqdm
    ctx._bar = tqdm(total=total, desc=f"epoch {ctx.epoch + 1}/{ctx.epochs}", unit="batch",
                    leave=True, dynamic_ncols=True, file=sys.stderr)
    return ctx._bar


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


def evaluate(model, data, loss=None, metrics="auto", batch_size=256):
    """Loss and metrics of ``model`` over ``data`` in eval mode, without recording a graph.

    It never communicates, so in a process group one rank may call it alone (``fit``
    combines the ranks' validation shares itself).

    Args:
        model: an ``nn.Module``.
        data: a DataLoader, an iterable of ``(x, y)`` batches, or an ``(X, y)`` tuple.
        loss: ``loss(output, y)`` (mean over the batch) or None.
        metrics: names or Metric objects; ``"auto"`` as in :func:`fit`.
        batch_size: when ``data`` are arrays.
    Returns:
        dict: ``"loss"`` (when ``loss`` is given) and one entry per metric; floats, or an
        int64 ndarray for the confusion matrix.
    """
    return _evaluate(model, _as_loader(data, model, batch_size, False, "evaluate"), loss,
                     _metric_list(metrics), _World(alone=True))


def _metric_list(metrics):
    """``metrics`` as a list: None is none, one name or Metric is a list of one (``"acc"``
    was read as the metrics "a", "c", "c"); ``"auto"`` stays until the first batch."""
    if metrics is None:
        return []
    if isinstance(metrics, str) and metrics == "auto":
        return metrics
    if isinstance(metrics, (str, Metric)):
        return [metrics]
    return list(metrics)


@no_grad()
def _evaluate(model, data, loss, metrics, world):
    """evaluate() on a loader, summed over ``world``'s ranks."""
    was_training = model.training
    model.eval()
    try:
        ms = None
        total, n = None, 0
        for xb, yb in _pairs(data, "evaluate: each batch"):
            out = model(xb)
            yr = unwrap(yb)
            if ms is None:
                metrics, ms = _started(metrics, loss, yb)
            if loss is not None:
                s = loss(out, yb).array * int(out.shape[0])
                total = s if total is None else total + s
            n += int(out.shape[0])
            for m in ms:
                m.update(out.array, yr)
    finally:
        model.train(was_training)
    if ms is None:  # no batches
        ms = _started([] if metrics == "auto" else metrics, loss, None)[1]
    part = float(B.to_numpy(total)) if total is not None else 0.0
    total, n, results = _combine(world, part, n, ms)
    logs = {}
    if loss is not None:
        logs["loss"] = total / n if n else float("nan")
    logs.update(results)
    return logs


@no_grad()
def predict(model, data, batch_size=256):
    """The model's outputs for every sample, in order, in eval mode.

    Args:
        model: an ``nn.Module``.
        data: an array of inputs (n, ...) (NumPy, any backend, or a Tensor), or a DataLoader
            / iterable of batches (``(x, y)`` pairs or ``x`` alone; ``y`` is ignored).
        batch_size: when ``data`` is an array.
    Returns:
        ndarray (n, ...) on the host: the outputs concatenated (one device-to-host copy).
    """
    if isinstance(data, Tensor) or B.is_array(data) or isinstance(data, np.ndarray):
        be = _model_backend(model)
        data = DataLoader(_in_model_dtype(data, model, be), batch_size=batch_size,
                          backend=be.name, device=be.device)
    was_training = model.training
    model.eval()
    try:
        outs = []
        for batch in data:
            xb = batch[0] if isinstance(batch, (tuple, list)) else batch
            outs.append(model(xb).array)
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict: the data yielded no batches")
    xp = B.backend_of(outs[0]).xp
    return B.to_numpy(xp.concat(outs, axis=0))
