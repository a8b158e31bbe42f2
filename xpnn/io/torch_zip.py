"""Reading ``torch.save``'s files (its zip archives) without PyTorch and without running
anything from the file: state dicts, optimizer states and checkpoint dicts that PyTorch
programs saved load with ``xpnn.load`` as they do with ``torch.load``.

Such a file is a zip archive: ``<name>/data.pkl``, a pickle of the saved object in which
each tensor is a call of ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
...)``, and ``<name>/data/<key>``, the raw bytes of each storage (little-endian unless
``<name>/byteorder`` says otherwise). The pickle is read by an Unpickler whose
``find_class`` answers from a fixed table of xpnn's own functions (tensors, parameters,
dtypes, ``torch.Size``, ``torch.device``, ``OrderedDict``, ``Counter``, a few builtins and
NumPy's scalars) and refuses every other name with UnsafeGlobalError, as ``torch.load(...,
weights_only=True)`` refuses it: nothing the file names is imported or called. A pickled
whole module (``torch.save(model)``) is refused that way; save ``model.state_dict()``.
Strides and offsets are honoured (views of one storage load as separate copies), and the
tensors go where ``map_location`` says, as from xpnn's own files.
"""
from __future__ import annotations

import codecs
import collections
import io
import math
import pickle
import zipfile

import numpy as np

from .. import backend as B
from ..tensor import Size, Tensor
from .format import DTYPES, CheckpointError
from .safe import UnsafeGlobalError

ZIP_MAGIC = b"PK\x03\x04"

# torch.<X>Storage -> the dtype tag of xpnn's io (format.DTYPES)
_STORAGES = {"FloatStorage": "F32", "DoubleStorage": "F64", "HalfStorage": "F16",
             "BFloat16Storage": "BF16", "LongStorage": "I64", "IntStorage": "I32",
             "ShortStorage": "I16", "CharStorage": "I8", "ByteStorage": "U8",
             "BoolStorage": "BOOL", "ComplexFloatStorage": "C64",
             "ComplexDoubleStorage": "C128"}
_DTYPE_NAMES = {"float32", "float", "float64", "double", "float16", "half", "bfloat16",
                "int8", "int16", "short", "int32", "int", "int64", "long", "uint8", "uint16",
                "uint32", "uint64", "bool", "complex64", "cfloat", "complex128", "cdouble"}
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "short": "int16",
            "int": "int32", "long": "int64", "cfloat": "complex64", "cdouble": "complex128"}


def is_torch_zip(buf):
    return bytes(buf[:4]) == ZIP_MAGIC


class _Storage:
    """One storage of the archive: its dtype tag, entry and location, read when first used."""

    def __init__(self, reader, tag, key, location, numel):
        self.reader, self.tag, self.key, self.location, self.numel = reader, tag, key, \
            location, numel
        self._host = None

    def host(self):
        if self._host is None:
            self._host = self.reader.storage_bytes(self)
        return self._host


class _Unpickler(pickle.Unpickler):
    def __init__(self, data, reader):
        super().__init__(io.BytesIO(data))
        self.reader = reader

    def find_class(self, module, name):
        return self.reader.global_(module, name)

    def persistent_load(self, pid):
        return self.reader.storage(pid)


class TorchZipReader:
    """Loads one torch.save archive (module docstring); ``placer`` puts the tensors."""

    def __init__(self, path, buf, placer):
        self.path, self.placer, self.storages = path, placer, {}
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(buf))
            names = self.zip.namelist()
        except (zipfile.BadZipFile, ValueError) as e:
            raise CheckpointError(path, f"a zip archive that cannot be read ({e})") from None
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise CheckpointError(path, "a zip archive but not one torch.save wrote (no "
                                  "single '<name>/data.pkl' entry)")
        self.prefix = pkl[0][:-len("data.pkl")]
        self.table = self._globals()
        order = self.prefix + "byteorder"
        self.big = order in names and self.zip.read(order).strip() == b"big"

    # -- what the pickle may name ---------------------------------------------------------------
    def _globals(self):
        """(module, name) -> what the pickle gets for it (the rebuilders bound here)."""
        return {("collections", "OrderedDict"): collections.OrderedDict,
                ("collections", "Counter"): collections.Counter,  # MultiStepLR's milestones
                ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor,
                ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor,
                ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
                ("torch._utils", "_rebuild_parameter_with_state"): self.rebuild_parameter,
                ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
                ("torch", "Size"): Size, ("torch", "device"): B.device,
                ("torch", "Tensor"): _TYPE, ("torch.nn.parameter", "Parameter"): _TYPE,
                ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
                ("builtins", "slice"): slice, ("builtins", "complex"): complex,
                ("builtins", "bytearray"): bytearray, ("_codecs", "encode"): _encode,
                ("numpy", "dtype"): _np_dtype,
                ("numpy.core.multiarray", "scalar"): _np_scalar,
                ("numpy._core.multiarray", "scalar"): _np_scalar}

    def global_(self, module, name):
        module = "builtins" if module == "__builtin__" else module  # protocol 2's name
        got = self.table.get((module, name))
        if got is not None:
            return got
        if module == "torch" and name in _STORAGES:
            return _STORAGES[name]  # a storage's dtype, read by persistent_load
        if module == "torch" and name in _DTYPE_NAMES:
            return B.DType(_ALIASES.get(name, name))
        hint = " (a whole module was saved: save and load model.state_dict() instead)" \
            if module.startswith("torch.nn") or module == "__main__" else ""
        raise UnsafeGlobalError(self.path, f"the pickle names {module}.{name}, which xpnn "
                                f"does not load from PyTorch files (it loads tensors, "
                                f"parameters and plain containers, as torch.load(..., "
                                f"weights_only=True)){hint}", key="data.pkl")

    def storage(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise CheckpointError(self.path, f"an unknown persistent id {pid!r} in the pickle",
                                  key="data.pkl")
        _, tag, key, location, numel = pid
        if tag not in DTYPES:
            raise UnsafeGlobalError(self.path, f"storage {key!r} of an unknown type {tag!r}",
                                    key="data.pkl")
        got = self.storages.get(key)
        if got is None:
            got = self.storages[key] = _Storage(self, tag, str(key), str(location), int(numel))
        return got

    def storage_bytes(self, st):
        entry = f"{self.prefix}data/{st.key}"
        try:
            raw = self.zip.read(entry)
        except KeyError:
            raise CheckpointError(self.path, "a storage's data is missing from the archive",
                                  key=entry) from None
        dt = DTYPES[st.tag].newbyteorder(">") if self.big else DTYPES[st.tag]
        if len(raw) != st.numel * dt.itemsize:
            raise CheckpointError(self.path, f"storage holds {len(raw)} bytes, not "
                                  f"{st.numel} x {dt.itemsize}", key=entry)
        return np.frombuffer(raw, dtype=dt).astype(DTYPES[st.tag], copy=False)

    # -- tensors --------------------------------------------------------------------------------
    def rebuild_tensor(self, storage, offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
        if not isinstance(storage, _Storage):
            raise CheckpointError(self.path, "a tensor without a storage in the pickle",
                                  key="data.pkl")
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        host = storage.host()
        if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size + stride):
            raise CheckpointError(self.path, f"a tensor of size {size} and stride {stride}",
                                  key=f"data/{storage.key}")
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else -1
        if last >= host.size:
            raise CheckpointError(self.path, f"a tensor of size {size}, stride {stride} at "
                                  f"offset {offset} reaches past its storage of "
                                  f"{host.size} elements", key=f"data/{storage.key}")
        if math.prod(size) == 0:
            view = np.zeros(size, dtype=host.dtype)
        else:
            view = np.lib.stride_tricks.as_strided(
                host[offset:], size, tuple(s * host.itemsize for s in stride), writeable=False)
        on = "numpy:cpu" if storage.location == "cpu" else \
            f"cupy:{storage.location.partition(':')[2] or 0}" \
            if storage.location.startswith("cuda") else "numpy:cpu"
        t = Tensor(self.placer.place(self.path, f"data/{storage.key}",
                                     np.array(view, order="C"), storage.tag, on))
        if requires_grad:
            t.requires_grad_(True)
        return t

    def rebuild_parameter(self, data, requires_grad, backward_hooks, state=None):
        from ..nn.parameter import Parameter  # late: xpnn.nn imports the ops
        return Parameter(data, requires_grad=bool(requires_grad))

    def load(self):
        try:
            return _Unpickler(self.zip.read(self.prefix + "data.pkl"), self).load()
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError,
                IndexError, KeyError, RecursionError) as e:
            raise CheckpointError(self.path, f"the pickle of the saved object is malformed "
                                  f"({type(e).__name__}: {e})", key="data.pkl") from None


def _TYPE(*args, **kwargs):
    """torch.Tensor / Parameter as _rebuild_from_type_v2's type argument, which is dropped;
    nothing constructs them from a file."""
    raise pickle.UnpicklingError("torch.Tensor and Parameter are not called from a file")


def _rebuild_from_type(func, new_type, args, state):
    """torch._tensor._rebuild_from_type_v2: ``func`` is one of the rebuilders above (the
    table gave it); the subclass and its state are dropped (xpnn has Tensor and
    Parameter)."""
    return func(*args)


def _encode(text, encoding="latin1"):
    """_codecs.encode, as protocol-2 pickles write bytes: text to latin-1 bytes only."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode({encoding!r}) is not allowed")
    return codecs.encode(text, "latin1")


def _np_dtype(spec, align=False, copy=False):
    dt = np.dtype(spec)
    if dt.kind not in "biufc":
        raise pickle.UnpicklingError(f"numpy dtype {dt} is not allowed (numbers only)")
    return np.dtype(spec, align, copy)


def _np_scalar(dtype, data=None):
    """A NumPy scalar (numpy.core.multiarray.scalar), for numbers saved in a checkpoint."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or \
            not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("a NumPy scalar that is not a plain number")
    return np.frombuffer(data, dtype=dtype)[0]


def load_torch_zip(path, buf, placer):
    return TorchZipReader(path, buf, placer).load()
