"""detect_anomaly(): find the first op whose forward output or backward gradient is NaN.

While the context is active, ``Function.apply`` checks every forward output and
``backward()`` every gradient an op returns; the first NaN raises :class:`AnomalyError`
naming the op, the pass, the input shapes and the line of user code that called the op.
Infinities pass, as in PyTorch's anomaly mode (a -inf attention mask, an infinite gradient
at a kink are legitimate); PyTorch checks only the gradients, xpnn also the forward outputs,
to name the op where a NaN first appears. Inactive, it costs one module-global
``is not None`` test per op.
"""
from __future__ import annotations

import os
import sys

from .autograd import engine  # owns _anomaly: the backward sweep reads it per node
from .autograd.sparse_grad import SparseGrad
from . import backend as B

_PKG = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(FloatingPointError, RuntimeError):
    """An op produced NaN while :class:`detect_anomaly` was active (a RuntimeError too, as
    PyTorch raises)."""


def _floating(xp, arr):
    return xp.isdtype(arr.dtype, ("real floating", "complex floating"))


def _bad(xp, arr):
    """'NaN' if the floating array ``arr`` has NaN entries, else None."""
    if not _floating(xp, arr) or not bool(xp.any(xp.isnan(arr))):
        return None
    return "NaN"


def _describe(xp, arrays):
    parts = []
    for i, a in enumerate(arrays):
        note = " (already non-finite)" if _bad(xp, a) else ""
        parts.append(f"#{i} {tuple(a.shape)} {B.dtype_name(a.dtype)}{note}")
    return ", ".join(parts) or "none"


def _caller():
    """'file:line in function' of the innermost frame outside the xpnn package."""
    f = sys._getframe(2)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG):
        f = f.f_back
    if f is None:
        return "unknown location"
    return f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"


class _Checker:
    """What autograd calls while anomaly detection is on."""

    def forward(self, cls, inputs, out, node):
        where = _caller()
        if node is not None:
            node._anomaly_where = where  # for the backward message; freed with the node
        outs = out if type(out) is tuple else (out,)
        xp = inputs[0]._be.xp
        for i, Y in enumerate(outs):
            kind = _bad(xp, Y)
            if kind:
                raise AnomalyError(
                    f"detect_anomaly: {cls.__name__} forward produced {kind} in output {i} "
                    f"(shape {tuple(Y.shape)}); inputs: "
                    f"{_describe(xp, [t.array for t in inputs])}; called at {where}")

    def backward(self, node, dXs):
        xp = node.xp
        for i, (t, dX) in enumerate(zip(node.inputs, dXs)):
            if dX.__class__ is SparseGrad:  # Embedding(sparse=True): check its values
                dX = dX.values
            kind = None if dX is None else _bad(xp, dX)
            if kind:
                where = node.__dict__.get("_anomaly_where", "a call made before "
                                          "detect_anomaly was entered")
                raise AnomalyError(
                    f"detect_anomaly: {type(node).__name__} backward produced {kind} in the "
                    f"gradient for input {i} (shape {tuple(dX.shape)}); forward inputs: "
                    f"{_describe(xp, [x.array for x in node.inputs if x is not None])}; the op "
                    f"was called at {where}")


class detect_anomaly:
    """Context manager (and decorator): raise at the first NaN an op produces.

    Example::

        with xpnn.detect_anomaly():
            loss = model(x).sum()      # a NaN here names the op and the line
            loss.backward()            # a NaN gradient names the op and where it was called

    Every output and gradient is checked on the host, so use it to debug, not to train.
    ``check_nan=False`` checks nothing (PyTorch then only records tracebacks).
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = engine._anomaly
        if self.check_nan:
            engine._anomaly = _Checker()
        return self

    def __exit__(self, *exc):
        engine._anomaly = self._prev

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
        return wrapped


class set_detect_anomaly:
    """Turn the checks of :class:`detect_anomaly` on or off from here on (PyTorch's
    ``torch.autograd.set_detect_anomaly(True)``); as a context manager, only inside it."""

    def __init__(self, mode, check_nan=True):
        self._prev = engine._anomaly
        engine._anomaly = _Checker() if mode and check_nan else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        engine._anomaly = self._prev


def is_anomaly_enabled():
    return engine._anomaly is not None
