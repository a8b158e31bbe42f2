"""How a Tensor prints: PyTorch's layout and number formats, so ``print(x)`` reads as it
does in PyTorch (``tensor([ 1.5410, -0.2934])``, ``tensor([1., 2.], dtype=xpnn.float64)``,
``grad_fn=<MulBackward0>``), and ``set_printoptions`` with PyTorch's options.

The rules, as PyTorch's: floats print with ``precision`` decimals; as whole numbers with a
point (``2.``) when every finite nonzero value is whole; in scientific notation when the
largest magnitude exceeds 1e8, or exceeds 1000 times the smallest, or the smallest is below
1e-4 (with decimals). Every element is right-aligned to the widest. Tensors of more than
``threshold`` elements show ``edgeitems`` rows and columns at each end around ``...``.
Works on host copies (NumPy) of the data: printing reads the device.
"""
from __future__ import annotations

import math

import numpy as np

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
             "sci_mode": None}
_PROFILES = {"default": dict(_DEFAULTS), "full": dict(_DEFAULTS, threshold=math.inf),
             "short": dict(_DEFAULTS, precision=2, edgeitems=2)}
OPTIONS = dict(_DEFAULTS)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """PyTorch's print options: ``profile`` ("default", "short", "full") resets them all,
    then each option given is set (``sci_mode`` None: chosen from the values)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        OPTIONS.update(_PROFILES[profile])
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            OPTIONS[key] = value
    OPTIONS["sci_mode"] = sci_mode


class _Formatter:
    """Formats the elements of one tensor alike: the mode and width come from all of the
    values shown."""

    def __init__(self, values, floating):
        self.floating, self.int_mode, self.sci_mode, self.width = floating, True, False, 1
        p = OPTIONS["precision"]
        if not floating:
            self.width = max([len(str(v)) for v in values.tolist()] or [1])
            return
        finite = values[np.isfinite(values) & (values != 0)]
        if finite.size:
            mags = np.abs(finite.astype(np.float64))
            lo, hi = mags.min(), mags.max()
            self.int_mode = bool(np.all(finite == np.ceil(finite)))
            wide = hi / lo > 1000.0 or hi > 1e8
            sci = self.int_mode and wide or not self.int_mode and (wide or lo < 1e-4)
            self.sci_mode = sci if OPTIONS["sci_mode"] is None else OPTIONS["sci_mode"]
            if self.sci_mode:
                texts = [f"{v:.{p}e}" for v in finite.tolist()]
            elif self.int_mode:
                texts = [f"{v:.0f}." for v in finite.tolist()]
            else:
                texts = [f"{v:.{p}f}" for v in finite.tolist()]
            self.width = max(len(t) for t in texts)
        elif OPTIONS["sci_mode"] is not None:
            self.sci_mode = OPTIONS["sci_mode"]

    def format(self, v):
        if not self.floating:
            text = str(v)
        elif self.sci_mode:
            text = f"{v:{self.width}.{OPTIONS['precision']}e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{OPTIONS['precision']}f}"
        return " " * (self.width - len(text)) + text


class _ComplexFormatter:
    """PyTorch's complex layout: the real parts formatted alike (and right-aligned), the
    imaginary parts alike, joined as ``1.5000-2.0000j``."""

    def __init__(self, values):
        self.re, self.im = _Formatter(values.real, True), _Formatter(values.imag, True)
        self.width = self.re.width + self.im.width + 1

    def format(self, v):
        re, im = self.re.format(v.real), (self.im.format(v.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im


def _summarized(a, edge):
    """The elements ``_body`` shows (each dim cut to ``edge`` at both ends), for the
    formatter."""
    if a.ndim == 0 or a.shape[0] <= 2 * edge:
        parts = list(a) if a.ndim > 1 else [a]
    else:
        parts = list(a[:edge]) + list(a[-edge:]) if a.ndim > 1 else [a[:edge], a[-edge:]]
    if a.ndim <= 1:
        return np.concatenate([np.reshape(p, (-1,)) for p in parts])
    return np.concatenate([_summarized(p, edge) for p in parts])


def _vector(a, indent, summarize, fmt):
    edge = OPTIONS["edgeitems"]
    per_line = max(1, int((OPTIONS["linewidth"] - indent) // (fmt.width + 2)))
    if summarize and a.shape[0] > 2 * edge:
        items = [fmt.format(v) for v in a[:edge].tolist()] + [" ..."] + \
            [fmt.format(v) for v in a[-edge:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    edge = OPTIONS["edgeitems"]
    if summarize and a.shape[0] > 2 * edge:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."] + \
            [_body(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0] - edge,
                                                                    a.shape[0])]
    else:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def device_text(device):
    """A device as text: "cuda:0" (torch and CuPy alike), or the backend's own name."""
    if hasattr(device, "id"):  # a CuPy device
        return f"cuda:{device.id}"
    return str(getattr(device, "_device", device))  # array-api-strict's Device("device1")


def tensor_repr(host, dtype_name, default_dtype, suffixes, prefix="tensor("):
    """The text of a tensor whose data are ``host`` (a NumPy array), PyTorch's layout.

    Args:
        host: the data on the host.
        dtype_name: the tensor's dtype ("float32", ...).
        default_dtype: the default floating dtype's name (float32 unless changed).
        suffixes: what follows the dtype (backend, device, requires_grad, grad_fn).
    """
    floating = dtype_name.startswith(("float", "bfloat"))
    if host.dtype.kind == "f" and host.dtype.itemsize < 4:
        host = host.astype(np.float32)  # float16 prints through float32, as in PyTorch
    default_complex = "complex128" if default_dtype == "float64" else "complex64"
    shown = dtype_name in (default_dtype, "int64", "bool", default_complex)
    indent = len(prefix)
    more = []
    if host.size == 0:
        if host.ndim != 1:
            more.append(f"size={tuple(host.shape)}")
        if dtype_name not in (default_dtype, default_complex):
            more.append(f"dtype=xpnn.{dtype_name}")
        text = "[]"
    else:
        summarize = host.size > OPTIONS["threshold"]
        edge = OPTIONS["edgeitems"]
        shown_values = _summarized(host, edge) if summarize else np.reshape(host, (-1,))
        fmt = _ComplexFormatter(shown_values) if host.dtype.kind == "c" else \
            _Formatter(shown_values, floating)
        text = _body(host, indent, summarize, fmt)
        if not shown:
            more.append(f"dtype=xpnn.{dtype_name}")
    out = prefix + text
    last = len(out) - out.rfind("\n") + 1
    for suffix in more + list(suffixes):
        if last + len(suffix) + 2 > OPTIONS["linewidth"]:
            out += ",\n" + " " * indent + suffix
            last = indent + len(suffix)
        else:
            out += ", " + suffix
            last += len(suffix) + 2
    return out + ")"


# -- grad_fn names ---------------------------------------------------------------------
# PyTorch names a node after its ATen op (``AddmmBackward0``), xpnn after its Function class
# (``Linear``). What a tensor prints shows PyTorch's name where one xpnn Function stands for
# one PyTorch op; a class missing here prints as ``<ClassName>Backward0``.
_GRAD_FN_NAMES = {
    "PowScalar": "PowBackward0", "Pow": "PowBackward1", "ReLU": "ReluBackward0",
    "GELU": "GeluBackward0", "SiLU": "SiluBackward0", "LeakyReLU": "LeakyReluBackward0",
    "ELU": "EluBackward0", "Reshape": "ViewBackward0", "Take": "IndexBackward0",
    "Concat": "CatBackward0", "CrossEntropy": "NllLossBackward0", "MSE": "MseLossBackward0",
    "BCE": "BinaryCrossEntropyBackward0",
    "BCEWithLogits": "BinaryCrossEntropyWithLogitsBackward0", "Dropout": "MulBackward0",
    "Clip": "ClampBackward1", "Transfer": "ToCopyBackward0", "Where": "WhereBackward0",
    "ConstantPad": "ConstantPadNdBackward0", "Log1p": "Log1PBackward0",
    "CumSum": "CumsumBackward0", "LogSumExp": "LogsumexpBackward0",
    "LayerNorm": "NativeLayerNormBackward0", "L2Norm": "LinalgVectorNormBackward0",
    "ConvNd": "ConvolutionBackward0", "BatchNorm": "NativeBatchNormBackward0",
    "Embedding": "EmbeddingBackward0", "MaxDim": "MaxBackward0",
}
_POOLS_2D = {"MaxPool": "MaxPool2DWithIndicesBackward0", "AvgPool": "AvgPool2DBackward0",
             "AdaptiveAvgPool": "AdaptiveAvgPool2DBackward0"}


def grad_fn_name(node, out_ndim):
    """The name PyTorch prints for the node that made a tensor of ``out_ndim`` dims (as in
    ``grad_fn=<AddmmBackward0>``)."""
    if getattr(node, "_ctx_style", False):  # a custom autograd.Function: <MyFnBackward>
        return node.name()
    cls = type(node).__name__
    if cls in _GRAD_FN_NAMES:
        return _GRAD_FN_NAMES[cls]
    if cls in ("Sum", "Mean"):  # PyTorch: Backward0 reduces everything, Backward1 a dim
        return f"{cls}Backward{0 if out_ndim == 0 else 1}"
    if cls == "Max":  # x.max() (MaxBackward1) or x.amax(dim) (AmaxBackward0)
        return "MaxBackward1" if out_ndim == 0 else "AmaxBackward0"
    if cls == "BasicIndex":  # an int index drops a dim (select), a slice keeps it
        shape = getattr(node, "shape", None)
        if shape is not None:
            return "SelectBackward0" if out_ndim < len(shape) else "SliceBackward0"
    if cls == "MatMul" and out_ndim <= 2:
        return ("DotBackward0", "MvBackward0", "MmBackward0")[out_ndim]
    if cls == "Linear":  # 2-D input: addmm (or mm without bias); more dims: a view of it
        if out_ndim != 2:
            return "ViewBackward0"
        return "AddmmBackward0" if len(getattr(node, "needs", ())) == 3 else "MmBackward0"
    if cls == "L1" and out_ndim == 0:  # PyTorch's l1_loss is a mean of abs
        return "MeanBackward0"
    if cls in _POOLS_2D and out_ndim == 4:
        return _POOLS_2D[cls]
    return f"{cls}Backward0"
