"""``torch.testing``: :func:`assert_close` and :func:`make_tensor`, with PyTorch's rules and
messages.

``assert_close(actual, expected)`` compares tensors (of any backend), NumPy arrays, numbers
and sequences or mappings of them: the same type of container, shape, dtype and device
(unless told not to check), then values within ``atol + rtol * |expected|``, with default
tolerances from the dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7, 1e-7; float16:
1e-3, 1e-5; bfloat16: 1.6e-2, 1e-5; integers and bools exactly). A failure raises
AssertionError with PyTorch's report: how many elements differ and the greatest absolute
and relative differences with their index. The values are compared in host memory (one
read each): this is for tests, not for training steps.
"""
from __future__ import annotations

import collections.abc
import math

import numpy as np

from . import backend as B
from .autograd import TensorBase

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}
_COMPLEX_TOLERANCES = {"complex64": _TOLERANCES["float32"], "complex128": _TOLERANCES["float64"]}


def _tolerances(*dtypes):
    """The (rtol, atol) of the loosest of ``dtypes`` (integers and bools: exact)."""
    pairs = [_TOLERANCES.get(d, _COMPLEX_TOLERANCES.get(d, (0.0, 0.0))) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _is_tensor_like(x):
    return isinstance(x, (TensorBase, np.ndarray))


def _is_number(x):
    return isinstance(x, (bool, int, float, np.number, np.bool_))


class _Failure(AssertionError):
    pass


def _fail(msg, generated, path):
    if path:
        generated += f"\n\nThe failure occurred for item {''.join(f'[{p!r}]' for p in path)}"
    if callable(msg):
        generated = msg(generated)
    elif msg is not None:
        generated = msg
    raise _Failure(generated)


def _attribute(name, a, b, msg, path):
    _fail(msg, f"The values for attribute '{name}' do not match: {a} != {b}.", path)


def _values(actual, expected, rtol, atol, equal_nan, msg, path, what):
    """Compare two NumPy arrays of one shape; raise PyTorch's report if they differ."""
    a, e = actual, expected
    if a.dtype == np.bool_:
        a, e = a.astype(np.int64), e.astype(np.int64)
    exact = rtol == 0 and atol == 0
    if a.dtype.kind in "fc" or e.dtype.kind in "fc":
        kind = np.complex128 if "c" in (a.dtype.kind, e.dtype.kind) else np.float64
        a64, e64 = a.astype(kind), e.astype(kind)  # complex: |a - e| <= atol + rtol |e|
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a64 - e64)
            ok = diff <= atol + rtol * np.abs(e64)
            ok |= a64 == e64  # infinities of one sign
            if equal_nan:
                ok |= np.isnan(a64) & np.isnan(e64)
    else:
        a64, e64 = a.astype(np.int64), e.astype(np.int64)
        diff = np.abs(a64 - e64)
        ok = diff <= atol + rtol * np.abs(e64)
    if ok.all():
        return
    bad = int((~ok).sum())
    total = ok.size
    # PyTorch's report divides in the inputs' floating dtype (float32 for integers)
    wide = np.float64 if np.float64 in (a.dtype, e.dtype) else np.float32
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = diff.astype(wide) / np.abs(e64).astype(wide)
    diff_f = np.where(np.isnan(diff), np.inf, diff).astype(np.float64)
    rel_f = np.where(np.isnan(rel), np.inf, rel)
    ia = np.unravel_index(int(np.argmax(diff_f)), ok.shape) if ok.ndim else ()
    ir = np.unravel_index(int(np.argmax(rel_f)), ok.shape) if ok.ndim else ()

    integral = a.dtype.kind in "iub" and e.dtype.kind in "iub"

    def num(v):
        v = v.item() if hasattr(v, "item") else v
        return int(v) if integral else v
    kind = "not equal" if exact else "not close"
    if what == "Scalars" or ok.ndim == 0:
        report = (f"Scalars are {kind}!\n\nExpected {e.item()} but got {a.item()}.\n"
                  f"Absolute difference: {num(diff.item())}"
                  + ("" if exact else f" (up to {atol} allowed)")
                  + f"\nRelative difference: {rel.item()}"
                  + ("" if exact else f" (up to {rtol} allowed)"))
    else:
        report = (f"Tensor-likes are {kind}!\n\nMismatched elements: {bad} / {total} "
                  f"({100 * bad / total:.1f}%)\n"
                  f"Greatest absolute difference: {num(diff[ia])} at index {tuple(map(int, ia))}"
                  + ("" if exact else f" (up to {atol} allowed)")
                  + f"\nGreatest relative difference: {rel[ir]} at index "
                  f"{tuple(map(int, ir))}" + ("" if exact else f" (up to {rtol} allowed)"))
    _fail(msg, report, path)


def _dtype_name(x):
    return B.dtype_name(x.dtype) if isinstance(x, TensorBase) else np.dtype(x.dtype).name


def _compare(actual, expected, path, o):
    if _is_tensor_like(actual) and _is_tensor_like(expected):
        if type(actual) is not type(expected) and not (
                o["allow_subclasses"] and (isinstance(actual, type(expected))
                                           or isinstance(expected, type(actual)))):
            _fail(o["msg"], f"The values for attribute 'type' do not match: "
                  f"{type(actual).__name__} != {type(expected).__name__}.", path)
        if tuple(actual.shape) != tuple(expected.shape):
            shape = (lambda s: f"xpnn.Size({list(s)})") if isinstance(actual, TensorBase) \
                else tuple
            _attribute("shape", shape(actual.shape), shape(expected.shape), o["msg"], path)
        da, de = _dtype_name(actual), _dtype_name(expected)
        if o["check_dtype"] and da != de:
            _attribute("dtype", f"xpnn.{da}", f"xpnn.{de}", o["msg"], path)
        if o["check_device"] and isinstance(actual, TensorBase) and \
                (actual._be.name, str(actual._be.device)) != \
                (expected._be.name, str(expected._be.device)):
            _attribute("device", actual.device, expected.device, o["msg"], path)
        rtol, atol = o["tol"] if o["tol"] is not None else _tolerances(da, de)
        host = [B.to_numpy(t.detach().array) if isinstance(t, TensorBase) else t
                for t in (actual, expected)]
        _values(host[0], host[1], rtol, atol, o["equal_nan"], o["msg"], path, "Tensor-likes")
    elif _is_number(actual) and _is_number(expected):
        if isinstance(actual, (bool, np.bool_)) != isinstance(expected, (bool, np.bool_)) or \
                (o["check_dtype"] and isinstance(actual, float) != isinstance(expected, float)):
            _fail(o["msg"], f"The (d)types do not match: {type(actual)} != {type(expected)}.",
                  path)
        floats = isinstance(actual, (float, np.floating)) or \
            isinstance(expected, (float, np.floating))
        rtol, atol = o["tol"] if o["tol"] is not None else \
            (_TOLERANCES["float64"] if floats else (0.0, 0.0))
        _values(np.asarray(actual), np.asarray(expected), rtol, atol, o["equal_nan"], o["msg"],
                path, "Scalars")
    elif isinstance(actual, collections.abc.Mapping) and \
            isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            report = "The keys of the mappings do not match:"
            if missing:
                report += f"\nMissing keys in the actual mapping: {missing}"
            if extra:
                report += f"\nAdditional keys in the actual mapping: {extra}"
            _fail(o["msg"], report, path)
        for key in expected:
            _compare(actual[key], expected[key], path + (key,), o)
    elif isinstance(actual, collections.abc.Sequence) and \
            isinstance(expected, collections.abc.Sequence) and \
            not isinstance(actual, str) and not isinstance(expected, str):
        if len(actual) != len(expected):
            _fail(o["msg"], f"The length of the sequences mismatch: {len(actual)} != "
                  f"{len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), o)
    elif actual is None and expected is None:
        return
    else:
        raise TypeError(f"No comparison pair was able to handle inputs of type "
                        f"{type(actual)} and {type(expected)}.")


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close (module docstring),
    as ``torch.testing.assert_close``. ``rtol`` and ``atol`` are given together or not at
    all; ``msg`` replaces the report (a string) or rewrites it (a callable)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    tol = None if rtol is None else (float(rtol), float(atol))
    options = {"allow_subclasses": allow_subclasses, "tol": tol, "equal_nan": equal_nan,
               "check_device": check_device, "check_dtype": check_dtype, "msg": msg}
    try:
        _compare(actual, expected, (), options)
    except _Failure as exc:
        raise AssertionError(str(exc)) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """The deprecated ``torch.testing.assert_allclose``: assert_close without the dtype
    check, numbers and sequences taken as tensors of ``actual``'s kind."""
    if not _is_tensor_like(actual):
        actual = np.asarray(actual)
    if not _is_tensor_like(expected):
        expected = np.asarray(expected)
    if isinstance(actual, TensorBase) and not isinstance(expected, TensorBase):
        expected = actual._result(actual._be.asarray(np.asarray(expected)), actual._be)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_dtype=False, check_device=False, msg=msg or None)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None, backend=None):
    """A tensor of ``shape`` with values drawn uniformly from [low, high) (floats: default
    [-9, 9]; integers: [-9, 10), unsigned from 0; bools: either), as
    ``torch.testing.make_tensor``; ``exclude_zero`` replaces zeros by the dtype's smallest
    step (floats: its tiny, integers: 1)."""
    from . import creation
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    name = B.dtype_name(dtype) if not isinstance(dtype, str) else dtype
    if name == "bool":
        out = creation.randint(0, 2, shape, device=device, backend=backend).to("bool")
    elif name in _TOLERANCES:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if lo > hi:
            raise ValueError(f"make_tensor: low ({lo}) must not be larger than high ({hi})")
        out = creation.rand(*shape, dtype=name if name != "bfloat16" else "float32",
                            device=device, backend=backend) * (hi - lo) + lo
        out = out.to(name)
        if exclude_zero:
            out = out.masked_fill(out == 0, float(np.finfo(np.float32).tiny))
    else:
        lo = (0 if name == "uint8" else -9) if low is None else math.ceil(low)
        hi = 10 if high is None else math.ceil(high)
        if lo >= hi:
            raise ValueError(f"make_tensor: low ({lo}) must be smaller than high ({hi})")
        out = creation.randint(lo, hi, shape, dtype=name, device=device, backend=backend)
        if exclude_zero:
            out = out.masked_fill(out == 0, 1)
    if requires_grad:
        if name not in _TOLERANCES:
            raise ValueError(f"make_tensor: requires_grad needs a floating dtype, got {name}")
        out.requires_grad_(True)
    return out
