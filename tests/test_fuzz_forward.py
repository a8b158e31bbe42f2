"""A generic forward differential fuzzer, in the style of PyTorch's OpInfo: every callable
name that torch 2.13 and xpnn both export (top-level functions and Tensor methods, less the
skips below) is called with one fixed battery of inputs on both libraries, and xpnn must do
what torch does:

* where torch returns, xpnn returns the same shape, dtype and values (NaN equal to NaN, the
  tolerance from the dtype; tuples and namedtuples field by field; random ops: shape and
  dtype only);
* where torch raises, xpnn raises an instance of torch's class (checked on NumPy; other
  backends run the cases torch accepts).

The battery: unary ``f(x)``; binary ``f(x, y)`` / ``x.m(y)`` with y a tensor of x's dtype, of
another dtype, a broadcasting partner or a Python int or float; reductions ``f(x, 0)``,
``f(x, -1, keepdim=True)``, ``f(x, dim=(0, 1))``. Inputs: float32/float64/int64/uint8/bool/
complex64 tensors of shapes (), (0,), (2, 3), a transposed (3, 2), (2, 0, 3), and a vector of
NaN, +-inf, -0.0 (floats) or extreme values (integers). A form a name never accepts on torch
(every case raises there) is not compared. Names are tested in groups of ``GROUP`` so the
test count stays in the hundreds; a failure lists each name, case and a torch reproducer.

What stays different, and why, is in ``KNOWN`` (per name and kind of difference) and in the
two global rules of :func:`_tolerated`.
"""
import math
import warnings

import numpy as np
import pytest

import xpnn
from conftest import to_np
from fuzz_forward_known import KNOWN  # what stays different: name -> {kind: why}

torch = pytest.importorskip("torch")

GROUP = 8

# -- the names --------------------------------------------------------------------------------
# no array input, global state, I/O, devices, or callables that take functions
_SKIP_PREFIX = (
    "_", "set_", "use_", "enable_", "disable_", "manual_seed", "seed", "get_", "compile",
    "save", "load", "cuda", "register_", "backward", "share_memory", "pin_memory",
    "record_stream", "untyped_storage", "storage", "data_ptr", "apply_", "map_",
    "requires_grad_", "retain_grad", "resize", "from_numpy", "frombuffer", "tensor",
    "as_tensor", "asarray", "zeros", "ones", "full", "arange", "range", "linspace",
    "logspace", "eye", "empty_strided", "sparse_coo_tensor", "sparse_csr_tensor",
    "typename", "vmap", "cond", "autocast", "no_grad", "enable_grad", "inference_mode",
    "is_grad_enabled", "is_inference_mode_enabled", "is_anomaly", "is_warn",
    "is_deterministic", "are_deterministic", "initial_seed", "wait", "promote_types",
    "result_type", "can_cast", "iinfo", "finfo", "Generator", "export", "module_load",
    "to_dlpack", "from_dlpack", "dlpack", "compiled_with_cxx11_abi", "fork_rng", "randperm",
    "lobpcg", "sym_", "unravel_index")
_METHOD_SKIP = {"to", "cpu", "type", "numpy", "new_tensor"}
_DUNDERS = {
    "__abs__", "__add__", "__and__", "__eq__", "__floordiv__", "__ge__", "__gt__",
    "__invert__", "__le__", "__lshift__", "__lt__", "__matmul__", "__mod__", "__mul__",
    "__ne__", "__neg__", "__or__", "__pos__", "__pow__", "__radd__", "__rand__",
    "__rfloordiv__", "__rlshift__", "__rmatmul__", "__rmod__", "__rmul__", "__ror__",
    "__rpow__", "__rrshift__", "__rshift__", "__rsub__", "__rtruediv__", "__rxor__",
    "__sub__", "__truediv__", "__xor__", "__len__", "__bool__", "__float__", "__int__",
    "__index__", "__complex__", "__iadd__", "__imul__", "__isub__", "__itruediv__",
    "__ipow__"}
# random draws (and uninitialized memory): shape and dtype only
_RANDOM = ("rand", "dropout", "bernoulli", "multinomial", "normal", "poisson", "uniform",
           "exponential", "cauchy", "geometric", "random", "empty", "rrelu", "binomial",
           "new", "lowrank")


def _names():
    out = []
    for n in sorted(set(dir(torch)) & set(dir(xpnn))):
        t, x = getattr(torch, n), getattr(xpnn, n)
        if n.startswith(_SKIP_PREFIX) or not callable(t) or not callable(x) or \
                isinstance(t, type) or isinstance(x, type) or type(t).__name__ == "module":
            continue
        out.append(("func", n))
    for n in sorted(set(dir(torch.Tensor)) & set(dir(xpnn.Tensor))):
        if (n not in _DUNDERS) if n.startswith("__") else (
                n.startswith(_SKIP_PREFIX) or n in _METHOD_SKIP):
            continue
        if callable(getattr(torch.Tensor, n)) and callable(getattr(xpnn.Tensor, n)):
            out.append(("method", n))
    return out


NAMES = _names()
GROUPS = [NAMES[i:i + GROUP] for i in range(0, len(NAMES), GROUP)]


# -- the battery ------------------------------------------------------------------------------
_CLEAN = {"f": [1.5, -2.5, 3.0, 0.25, -1.0, 7.0, 2.0, -0.5, 4.0, 0.75, -3.0, 5.0],
          "int64": [1, -2, 3, 0, 5, -7, 2, 4, -1, 6, 8, -3],
          "uint8": [1, 2, 3, 0, 5, 7, 200, 4, 9, 6, 8, 3],
          "bool": [True, False, True, True, False, True, False, False, True, True, False],
          "c": [1.5 - 1j, -2.5, 3j, 0.25 + 0.5j, -1.0, 7.0 - 2j, 2.0, -0.5j, 4, 0.75, -3, 5j]}
_SPECIAL = {"f": [math.nan, math.inf, -math.inf, -0.0, 0.0, -3.0],
            "int64": [0, -1, 2 ** 40, -2 ** 40, 2 ** 62, 9],
            "uint8": [0, 255, 128, 1, 0, 9]}


class In:
    """One tensor input, made afresh for each call (in-place methods change it)."""

    def __init__(self, dtype, shape, special=False, shift=0, transposed=False):
        kind = "f" if dtype.startswith("float") else "c" if dtype.startswith("complex") \
            else dtype
        vals = (_SPECIAL if special else _CLEAN)[kind]
        n = math.prod(shape)
        self.a = np.array([vals[(i + shift) % len(vals)] for i in range(n)],
                          dtype=dtype).reshape(shape)
        self.dtype, self.transposed = dtype, transposed

    def make(self, lib):
        t = torch.tensor(self.a) if lib is torch else xpnn.tensor(self.a, dtype=self.dtype)
        return t.t() if self.transposed else t

    def code(self):
        return f"torch.tensor({self.a.tolist()!r}, dtype=torch.{self.dtype})" + (
            ".t()" if self.transposed else "")


def _inputs():
    f32 = [In("float32", ()), In("float32", (0,)), In("float32", (2, 3)),
           In("float32", (2, 3), transposed=True), In("float32", (2, 0, 3)),
           In("float32", (6,), special=True)]
    return f32 + [In("float64", (2, 3)), In("int64", ()), In("int64", (2, 3)),
                  In("int64", (6,), special=True), In("uint8", (6,), special=True),
                  In("bool", (2, 3)), In("complex64", (2, 3))]


def _partner(x):
    p = In(x.dtype, x.a.shape, shift=3)
    p.a, p.transposed = np.roll(x.a, 1) if x.a.ndim else x.a, x.transposed
    return p


def _battery():
    """form -> [(args, kwargs)]."""
    xs = _inputs()
    unary = [((x,), {}) for x in xs]
    binary = [((x, _partner(x)), {}) for x in xs]
    binary += [((x, s), {}) for x in (xs[2], xs[5], xs[8], xs[10]) for s in (2, -1, -1.5)]
    binary += [((In(a, (2, 3)), In(b, (2, 3), shift=1)), {}) for a, b in (
        ("float32", "int64"), ("int64", "float32"), ("uint8", "int64"), ("bool", "float32"),
        ("float32", "complex64"), ("float32", "float64"))]
    binary.append(((In("float32", (3, 1)), In("float32", (1, 4), shift=2)), {}))
    reduction = []
    for x in xs:
        if x.a.ndim:
            reduction += [((x, 0), {}), ((x, -1), {"keepdim": True})]
        if x.a.ndim >= 2:
            reduction.append(((x,), {"dim": (0, 1)}))
    return {"unary": unary, "binary": binary, "reduction": reduction}


BATTERY = _battery()


def _call(lib, kind, name, args, kwargs):
    vals = [a.make(lib) if isinstance(a, In) else a for a in args]
    f = getattr(vals[0], name) if kind == "method" else getattr(lib, name)
    rest = vals[1:] if kind == "method" else vals
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = f(*rest, **kwargs)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return "err", e, vals
    if out is NotImplemented:  # a dunder's TypeError, as Python's operators see it
        return "err", TypeError("NotImplemented"), vals
    return "ok", out, vals


def _code(kind, name, args, kwargs):
    a = [x.code() if isinstance(x, In) else repr(x) for x in args]
    a += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{a[0]}.{name}({', '.join(a[1:])})" if kind == "method" else \
        f"torch.{name}({', '.join(a)})"


# torch results, once per name for all backends
_TORCH = {}


def _torch_results(kind, name):
    if (kind, name) not in _TORCH:
        torch.manual_seed(0)
        res = {form: [_call(torch, kind, name, a, k) for a, k in cases]
               for form, cases in BATTERY.items()}
        _TORCH[kind, name] = res
    return _TORCH[kind, name]


# -- comparison -------------------------------------------------------------------------------
def _tol(dtype):
    return 1e3 * np.finfo(np.float64).eps if str(dtype).endswith(("float64", "complex128")) \
        else 1e-2 if "16" in str(dtype) else 100 * np.finfo(np.float32).eps


def _np(t):
    t = t.detach().resolve_conj().resolve_neg()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def _dtype_name(d):
    return str(d).rsplit(".", 1)[-1]


def _compare(x, t, shape_only, path="result"):
    """None where xpnn's ``x`` matches torch's ``t``, else what differs."""
    if isinstance(t, torch.Tensor):
        if not isinstance(x, xpnn.Tensor):
            return f"{path}: a {type(x).__name__}, torch a Tensor"
        if tuple(x.shape) != tuple(t.shape) or _dtype_name(x.dtype) != _dtype_name(t.dtype):
            return f"{path}: {tuple(x.shape)} {x.dtype}, torch {tuple(t.shape)} {t.dtype}"
        if shape_only or t.layout != torch.strided or getattr(x, "is_sparse", False):
            return None
        a, b = to_np(x), _np(t)
        if a.dtype.kind == "c":  # a NaN or inf part: C99 Annex G corners differ by library
            na, nb = ~np.isfinite(a), ~np.isfinite(b)
            if not np.array_equal(na, nb):
                return f"{path}: non-finite at {na.nonzero()}, torch at {nb.nonzero()}"
            a, b = np.where(na, 0, a), np.where(nb, 0, b)
        if a.dtype.kind in "fc":
            tol = _tol(t.dtype)
            ok = np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True) and (
                a.dtype.kind == "c" or np.array_equal(np.isinf(a), np.isinf(b)))
        else:
            ok = np.array_equal(a, b)
        return None if ok else f"{path}: {a.ravel()[:6].tolist()}, torch {b.ravel()[:6].tolist()}"
    if isinstance(t, (tuple, list)) and not isinstance(t, torch.Size) and (
            not t or not all(type(v) is int for v in t)):
        if not isinstance(x, (tuple, list)) or len(x) != len(t):
            return f"{path}: {type(x).__name__} of {len(x) if hasattr(x, '__len__') else '?'}" \
                   f", torch {type(t).__name__} of {len(t)}"
        if hasattr(t, "_fields") and getattr(x, "_fields", None) != t._fields:
            return f"{path}: fields {getattr(x, '_fields', None)}, torch {t._fields}"
        for i, (u, v) in enumerate(zip(x, t)):
            m = _compare(u, v, shape_only, f"{path}[{i}]")
            if m:
                return m
        return None
    if isinstance(t, (tuple, list)):  # sizes
        return None if isinstance(x, (tuple, list)) and tuple(x) == tuple(t) else \
            f"{path}: {x!r}, torch {t!r}"
    if isinstance(t, torch.dtype):
        return None if _dtype_name(x) == _dtype_name(t) else f"{path}: {x}, torch {t}"
    if t is None or isinstance(t, (bool, int, float, complex, str)):
        if type(x) is not type(t):
            return f"{path}: {type(x).__name__} {x!r}, torch {type(t).__name__} {t!r}"
        if shape_only or x == t or isinstance(t, float) and math.isnan(t) and math.isnan(x):
            return None
        if isinstance(t, (float, complex)) and abs(x - t) <= 1e-5 * (1 + abs(t)):
            return None
        return f"{path}: {x!r}, torch {t!r}"
    return None  # devices, generators, ...: not compared


def _status(torch_out, xpnn_out, kind, name):
    """'same' or the kind of difference: 'value', 'xpnn-raises', 'lenient', 'exc-class'."""
    st, tr, tv = torch_out
    sx, xr, xv = xpnn_out
    if st == "err":
        if sx == "ok":
            return "lenient", f"torch raises {type(tr).__name__}: {str(tr)[:100]}"
        if not isinstance(xr, type(tr)):
            return "exc-class", (f"torch {type(tr).__name__}: {str(tr)[:80]}; xpnn "
                                 f"{type(xr).__name__}: {str(xr)[:100]}")
        return "same", None
    if sx == "err":
        return "xpnn-raises", f"{type(xr).__name__}: {str(xr)[:140]}"
    m = _compare(xr, tr, any(k in name for k in _RANDOM))
    if m is None and kind == "method" and tr is tv[0] and xr is not xv[0]:
        m = "torch returns self (in place), xpnn another tensor"
    return ("same", None) if m is None else ("value", m)


# Torch's argument parser raising TypeError for a Python number or tuple where its C++
# signature wants a Tensor (or a tensor where it wants an int): xpnn's functions are Python
# and accept more (numbers broadcast as 0-d tensors) or refuse with their own check.
_SIGNATURE = ("must be Tensor, not", "received an invalid combination of arguments",
              "NotImplemented", "positional argument", "must be tuple of ints",
              "argument after * must be", "object is not iterable", "must be int, not",
              "must be bool, not", "unexpected keyword argument", "missing",
              "must be tuple of ints, not")


def _tolerated(status, torch_out):
    if status in ("lenient", "exc-class") and isinstance(torch_out[1], TypeError):
        return any(s in str(torch_out[1]) for s in _SIGNATURE)
    return False


def _group_id(group):
    return f"{group[0][0][0]}:{group[0][1]}..{group[-1][1]}"


@pytest.mark.parametrize("group", GROUPS, ids=[_group_id(g) for g in GROUPS])
def test_fuzz_forward(group, backend):
    """Each name of ``group`` over the battery: xpnn's results and errors are torch's."""
    host = backend == "numpy"  # exception classes: compared on NumPy only
    failures = []
    for kind, name in group:
        allowed = KNOWN.get(name, {})
        for form, outs in _torch_results(kind, name).items():
            if not any(o[0] == "ok" for o in outs):
                continue  # a form torch never accepts for this name
            for (args, kwargs), tout in zip(BATTERY[form], outs):
                if tout[0] == "err" and not host:
                    continue
                status, msg = _status(tout, _call(xpnn, kind, name, args, kwargs), kind, name)
                if status == "same" or status in allowed or _tolerated(status, tout):
                    continue
                failures.append(f"{kind} {name} [{status}] {msg}\n    "
                                f"{_code(kind, name, args, kwargs)}")
    assert not failures, f"{len(failures)} differences:\n" + "\n".join(failures[:12])
