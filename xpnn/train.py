"""The training loop: ``fit`` (with progress bar, metrics and callbacks), ``evaluate`` and
``predict``. Its batches come from train_data.py, its logs and checks (``History``, the
non-finite stop) from train_logs.py.

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
from .metrics import Metric, get_metric
from .distributed import group as dist
from .train_data import _as_loader, _finite, _in_model_dtype, _model_backend, _pairs, _World
from .train_logs import History, NonFiniteLossError, _combine, _Watch, grad_sums

__all__ = ["History", "NonFiniteLossError", "evaluate", "fit", "predict"]


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


def _bar(ctx, mode, total):
    if mode != "bar":
        return None
    from tqdm.auto import tqdm
    ctx._bar = tqdm(total=total, desc=f"epoch {ctx.epoch + 1}/{ctx.epochs}", unit="batch",
                    leave=True, dynamic_ncols=True, file=sys.stderr)
    return ctx._bar


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
