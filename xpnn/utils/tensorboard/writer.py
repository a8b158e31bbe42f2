"""``SummaryWriter``: PyTorch's TensorBoard logger, writing TensorBoard's event files itself
(_events.py), so ``from torch.utils.tensorboard import SummaryWriter`` works without
TensorFlow or the tensorboard package (which is only needed to view the files).

Events go to ``<log_dir>/events.out.tfevents.<time>.<host>.<pid>.<n><suffix>``; they are
written to the file at once and flushed every ``max_queue`` events, after ``flush_secs``,
at ``flush()``/``close()`` and when the interpreter exits, so a crashed run keeps what it
logged. Scalars, histograms, images, matplotlib figures, text and hyperparameters are
written as PyTorch's writer writes them; ``add_graph`` has no JIT graph to write and warns.
"""
from __future__ import annotations

import atexit
import datetime
import math
import os
import socket
import struct
import time
import warnings
import weakref
import zlib

import numpy as np

from . import _events as E

_COUNT = [0]


def _default_logdir(comment):
    stamp = datetime.datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


def _host(value, what):
    """A tensor (of any backend), array or number as a NumPy array (one host read)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach()
        value = value.cpu() if hasattr(value, "cpu") and not hasattr(value, "array") else value
        return np.asarray(value.numpy())
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any conversion failure, reported alike
        raise TypeError(f"SummaryWriter.{what}: cannot read {type(value).__name__} as "
                        f"numbers") from exc


def _scalar(value, what):
    arr = _host(value, what)
    if arr.size != 1:
        raise ValueError(f"SummaryWriter.{what}: scalar_value must hold one number, got shape "
                         f"{arr.shape}")
    return float(arr.reshape(()))


class _File:
    """One event file: records appended and flushed as SummaryWriter says."""

    def __init__(self, log_dir, suffix, max_queue, flush_secs):
        os.makedirs(log_dir, exist_ok=True)
        _COUNT[0] += 1
        # the count zero-padded: readers take a directory's files in name order, so files
        # made in the same second by one process stay in the order they were made
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{_COUNT[0]:06d}{suffix}")
        self.path = os.path.join(log_dir, name)
        self.fh = open(self.path, "ab")
        self.max_queue, self.flush_secs = max(1, int(max_queue)), float(flush_secs)
        self.pending, self.last = 0, time.time()
        self.write(E.event(time.time(), file_version="brain.Event:2"))
        self.flush()

    def write(self, event):
        self.fh.write(E.record(event))
        self.pending += 1
        if self.pending >= self.max_queue or time.time() - self.last >= self.flush_secs:
            self.flush()

    def flush(self):
        if not self.fh.closed:
            self.fh.flush()
        self.pending, self.last = 0, time.time()

    def close(self):
        if not self.fh.closed:
            self.fh.flush()
            self.fh.close()


def _png(pixels):
    """A PNG file of uint8 ``pixels`` (H, W, C) with C = 1 (grey), 3 (RGB) or 4 (RGBA)."""
    h, w, c = pixels.shape
    color = {1: 0, 3: 2, 4: 6}[c]
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))  # filter 0 per row

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def _to_hwc(arr, dataformats, what):
    """An image array in ``dataformats`` (any order of C, H, W; N first for a batch, laid
    out as a grid of 8 columns) as (H, W, C) uint8: floats scale by 255, as PyTorch."""
    fmt = dataformats.upper()
    if sorted(fmt) not in (sorted("HW"), sorted("CHW"), sorted("NCHW")) or arr.ndim != len(fmt):
        raise ValueError(f"SummaryWriter.{what}: dataformats {dataformats!r} doesn't fit an "
                         f"image of shape {arr.shape} (use e.g. 'CHW', 'HWC', 'HW', 'NCHW')")
    if "C" not in fmt:
        arr, fmt = arr[..., None], fmt + "C"
    if "N" in fmt:
        arr = arr.transpose([fmt.index(k) for k in "NHWC"])
        n, h, w, c = arr.shape
        cols = min(8, n)
        rows = math.ceil(n / cols)
        grid = np.zeros((rows * h, cols * w, c), dtype=arr.dtype)
        for i in range(n):
            r, q = divmod(i, cols)
            grid[r * h:(r + 1) * h, q * w:(q + 1) * w] = arr[i]
        arr = grid
    else:
        arr = arr.transpose([fmt.index(k) for k in "HWC"])
    if arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"SummaryWriter.{what}: an image needs 1, 3 or 4 channels, got "
                         f"{arr.shape[2]}")
    if arr.dtype != np.uint8:
        arr = np.clip(arr.astype(np.float32) * 255, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _tf_bins():
    """TensorFlow's histogram bucket limits: +-1e-12 * 1.1^k up to 1e20, and 0."""
    pos, v = [], 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-x for x in reversed(pos)] + [0.0] + pos


def _histogram(values, bins, max_bins):
    """HistogramProto fields of ``values``: counts over ``bins`` (NumPy's meaning), merged in
    groups of ``len(bins) // max_bins`` where there are more than ``max_bins``, cut to the
    bins from the first to the last that hold values, with one empty bin before them so that
    their left limit is kept (the format stores only right limits)."""
    values = values.reshape(-1).astype(np.float64)
    if values.size == 0:
        raise ValueError("SummaryWriter.add_histogram: values has no element")
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        step = len(counts) // max_bins  # groups of this many (PyTorch's rounding)
        pad = (-len(counts)) % step
        counts = np.concatenate([counts, np.zeros(pad, counts.dtype)]).reshape(-1, step).sum(1)
        limits = np.concatenate([limits[:-1][::step], limits[-1:]])
    full = np.flatnonzero(counts)
    if full.size == 0:
        raise ValueError("SummaryWriter.add_histogram: no value falls in the bins")
    first, last = int(full[0]), int(full[-1])
    kept = counts[first:last + 1]
    counts = np.concatenate([[0], kept]) if first == 0 else counts[first - 1:last + 1]
    limits = limits[first:last + 2]
    return E.histogram(values.min(), values.max(), values.size, values.sum(),
                       float(np.dot(values, values)), limits, counts)


class SummaryWriter:
    """Logs to TensorBoard event files in ``log_dir`` (default ``runs/<date>_<host><comment>``),
    as ``torch.utils.tensorboard.SummaryWriter``."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=""):
        self.log_dir = str(log_dir) if log_dir is not None else _default_logdir(comment)
        self.purge_step, self.max_queue, self.flush_secs = purge_step, max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self._file = None
        self._others = {}  # add_scalars' writers by directory
        self._default_bins = _tf_bins()
        self._get()
        atexit.register(_close_at_exit, weakref.ref(self))

    def _get(self, log_dir=None):
        if log_dir is None:
            if self._file is None:
                self._file = _File(self.log_dir, self.filename_suffix, self.max_queue,
                                   self.flush_secs)
                if self.purge_step is not None:
                    self._file.write(E.event(time.time(), step=self.purge_step,
                                             session_log=E.session_start()))
                    self._file.flush()
            return self._file
        if log_dir not in self._others:
            self._others[log_dir] = _File(log_dir, self.filename_suffix, self.max_queue,
                                          self.flush_secs)
        return self._others[log_dir]

    def get_logdir(self):
        return self.log_dir

    def _add(self, summary_value, step, walltime, log_dir=None):
        if self._file is not None and self._file.fh.closed:
            raise RuntimeError("SummaryWriter: the writer is closed")
        self._get(log_dir).write(E.event(time.time() if walltime is None else walltime,
                                         step=None if step is None else int(step),
                                         summary=E.summary(summary_value)))

    # -- what is logged ---------------------------------------------------------------------
    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """One number (a Python or NumPy number, or a one-element tensor) at a step."""
        self._add(E.value(tag, simple_value=_scalar(scalar_value, "add_scalar")), global_step,
                  walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several numbers under one chart: each in its own run directory
        ``<log_dir>/<main_tag>_<tag>``, as PyTorch's writer."""
        walltime = time.time() if walltime is None else walltime
        for tag, v in tag_scalar_dict.items():
            where = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            self._add(E.value(main_tag, simple_value=_scalar(v, "add_scalars")), global_step,
                      walltime, where)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """A histogram of ``values``: TensorFlow's exponential buckets by default, else
        ``bins`` as NumPy's histogram takes it (a count, edges or a rule such as "auto")."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self._default_bins
        self._add(E.value(tag, histo=_histogram(_host(values, "add_histogram"), bins,
                                                max_bins)), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """An image (floats in [0, 1] or uint8), stored as PNG."""
        pixels = _to_hwc(_host(img_tensor, "add_image"), dataformats, "add_image")
        h, w, c = pixels.shape
        self._add(E.value(tag, image=E.image(h, w, c, _png(pixels))), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """A batch of images, stored as one grid of up to 8 columns."""
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of them, as a grid), rendered to an image."""
        figures = figure if isinstance(figure, (list, tuple)) else [figure]
        images = []
        for fig in figures:
            fig.canvas.draw()
            images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3])
            if close:
                import matplotlib.pyplot as plt
                plt.close(fig)
        if len(images) == 1:
            self.add_image(tag, images[0], global_step, walltime, dataformats="HWC")
        else:
            self.add_images(tag, np.stack(images), global_step, walltime, dataformats="NHWC")

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Text (Markdown in TensorBoard's text tab)."""
        self._add(E.value(tag + "/text_summary", tensor=E.string_tensor([text_string]),
                          metadata=E.plugin_metadata("text")), global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Hyperparameters and the metrics they gave, for TensorBoard's HParams tab: written
        to a run directory of their own (``run_name``, default the time), as PyTorch's."""
        from . import _hparams
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("SummaryWriter.add_hparams: hparam_dict and metric_dict must be "
                            "dicts")
        where = os.path.join(self.log_dir, run_name or str(time.time()))
        for summary_value in _hparams.summaries(hparam_dict, metric_dict,
                                                hparam_domain_discrete or {}):
            self._add(summary_value, None, None, where)
        for key, v in metric_dict.items():
            self._add(E.value(key, simple_value=_scalar(v, "add_hparams")), global_step, None,
                      where)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """PyTorch writes a JIT trace of the model here; xpnn has no JIT graph, so nothing is
        written (export with ``xpnn.onnx.export`` and open the file in Netron instead)."""
        warnings.warn("SummaryWriter.add_graph: xpnn has no JIT graph to write; nothing was "
                      "logged (xpnn.onnx.export writes a graph Netron can show)", UserWarning,
                      stacklevel=2)

    # -- files ------------------------------------------------------------------------------
    def flush(self):
        for f in [self._file, *self._others.values()]:
            if f is not None:
                f.flush()

    def close(self):
        for f in [self._file, *self._others.values()]:
            if f is not None:
                f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _close_at_exit(ref):
    writer = ref()
    if writer is not None:
        writer.close()
