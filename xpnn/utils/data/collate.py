"""default_collate and default_convert: samples to batches, with PyTorch's rules.

A batch keeps the structure of one sample: tensors and arrays are stacked along a new first
dim, numbers become 1-D tensors, dicts and namedtuples keep their keys, tuples and lists
become lists (PyTorch's rule), strings stay a sequence of strings. Tensors stack on their own
backend; host data (NumPy arrays, Python numbers) goes to the default backend, or the
DataLoader's.
Unlike PyTorch, float64 host data and Python floats become float32 (no silent float64).
"""
from __future__ import annotations

import collections.abc
import copy

import numpy as np  # host data only: samples that arrive as NumPy arrays or numbers

from ... import backend as B
from ...autograd import TensorBase
from ...functional import stack
from ...tensor import Tensor

_BAD = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists"
_INT64 = (-2 ** 63, 2 ** 63 - 1)


class EmptyBatchError(IndexError, ValueError):
    """An empty batch (torch: IndexError from ``batch[0]``; xpnn raised ValueError)."""


class CollateSizeError(ValueError, RuntimeError):
    """Samples of different shapes (torch: RuntimeError "stack expects each tensor to be
    equal size")."""


class NoDtypeError(TypeError, RuntimeError):
    """A None among numbers (torch: RuntimeError "Could not infer dtype of NoneType")."""


class MixedBatchError(TypeError, ValueError):
    """A number batch holding something else (torch: TypeError for a string, ValueError for
    a tensor of more than one element)."""


def _is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _host_tensor(host, be, where):
    """A Tensor on ``be`` from NumPy data; float64 becomes float32."""
    if host.dtype.kind not in "biuf":
        raise TypeError(f"{_BAD}; found {host.dtype}" if where == "collate" else
                        f"default_convert: cannot make a tensor of dtype {host.dtype}")
    if host.dtype == np.float64:
        host = host.astype(np.float32)
    return Tensor(be.asarray(host), _be=be)


def _same_shapes(shapes):
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise CollateSizeError(f"default_collate: stack expects each tensor to be equal "
                                   f"size, but got {list(shapes[0])} at entry 0 and "
                                   f"{list(shape)} at entry {i}")


def _numbers(batch):
    """A batch of Python numbers as a host array: bools stay bool, ints int64 (an error
    past int64's range, as torch's), any float makes it floating."""
    for i, b in enumerate(batch):
        if b is None:
            raise NoDtypeError(f"default_collate: could not infer the dtype of element {i} "
                               f"of a batch of numbers: it is None")
        if not isinstance(b, (bool, int, float, np.bool_, np.integer, np.floating)):
            raise MixedBatchError(f"default_collate: element 0 of the batch is a number, "
                                  f"element {i} is a {type(b).__name__}")
    big = [b for b in batch if isinstance(b, int) and not _INT64[0] <= b <= _INT64[1]]
    host = np.asarray(batch)
    if host.dtype.kind == "O" or (big and not any(isinstance(b, (float, np.floating))
                                                  for b in batch)):
        raise ValueError("default_collate: overflow: a Python int of the batch does not fit "
                         "in int64")
    return host


def _rebuild(elem, fields):
    """A mapping like ``elem`` (its type, e.g. a defaultdict's factory) holding ``fields``."""
    try:
        out = copy.copy(elem)
        out.update(fields)
        return out
    except (TypeError, AttributeError):  # an immutable Mapping
        try:
            return type(elem)(fields)
        except TypeError:  # a Mapping that cannot be built from a dict
            return fields


def collate(batch, be):
    """:func:`default_collate` with host data placed on the Backend ``be``."""
    if isinstance(batch, TensorBase):
        raise TypeError(f"default_collate: batch must be a list of samples, got a "
                        f"{type(batch).__name__} (wrap it in a list, or index it first)")
    if len(batch) == 0:
        raise EmptyBatchError("default_collate: the batch is empty")
    elem = batch[0]
    if getattr(elem, "is_sparse", False) is True and not isinstance(elem, TensorBase):
        raise RuntimeError("Batches of sparse tensors are not currently supported by the "
                           "default collate_fn; please provide a custom collate_fn to handle "
                           "them appropriately.")
    if isinstance(elem, (str, bytes)):  # np.str_ too: before the NumPy branches
        return batch  # as it came: a list, or a tuple from a namedtuple/sequence field
    if isinstance(elem, TensorBase):
        for i, b in enumerate(batch):
            if not isinstance(b, TensorBase):
                raise TypeError(f"default_collate: expected a Tensor as element {i} of the "
                                f"batch (element 0 is one), got {type(b).__name__}")
        return stack([b if isinstance(b, Tensor) else Tensor(b.array, _be=b._be)
                      for b in batch])
    if isinstance(elem, (np.ndarray, np.generic)):
        arrays = [np.asarray(b) for b in batch]
        _same_shapes([a.shape for a in arrays])
        return _host_tensor(np.stack(arrays), be, "collate")
    if B.is_array(elem):  # a torch / CuPy / array-api-strict array: stacked where it lives
        src = B.backend_of(elem)
        return Tensor(src.xp.stack(list(batch)), _be=src)
    if isinstance(elem, (bool, int, float)):
        return _host_tensor(_numbers(batch), be, "collate")
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild(elem, {key: collate([d[key] for d in batch], be) for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(collate(s, be) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               f"equal size, got sizes {[len(b) for b in batch]}")
        fields = [collate(s, be) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # PyTorch's rule: tuples come back as lists
        try:
            out = copy.copy(elem)
            out[:] = fields
            return out
        except TypeError:
            return fields
    raise TypeError(f"{_BAD}; found {type(elem)}")


def default_collate(batch):
    """Merge a list of samples into one batch (PyTorch's ``default_collate``).

    Args:
        batch: a list of samples, each a Tensor, array, number, string, dict, namedtuple,
            tuple or list (nested freely, the same structure in every sample).
    Returns:
        The samples' structure with Tensors of shape (len(batch), ...): Tensors stacked on
        their backend; NumPy arrays and numbers on the default backend, float64 as float32,
        Python ints as int64. Tuples become lists; strings a list (or tuple) of strings.
    """
    return collate(batch, B.default_backend())


def convert(data, be):
    """:func:`default_convert` with host data placed on ``be``."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return _host_tensor(data, be, "convert")
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _host_tensor(np.asarray(data), be, "convert")
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, {k: convert(v, be) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(convert(d, be) for d in data))
    if isinstance(data, tuple):
        return [convert(d, be) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            out = copy.copy(data)
            out[:] = [convert(d, be) for d in data]
            return out
        except TypeError:
            return [convert(d, be) for d in data]
    return data


def default_convert(data):
    """One sample's NumPy arrays as Tensors, structure kept (PyTorch's
    ``default_convert``, the collate function when ``batch_size=None``)."""
    return convert(data, B.default_backend())


def tree_map(fn, obj, leaf=TensorBase):
    """``obj`` with every ``leaf`` instance ``t`` (a Tensor by default) replaced by
    ``fn(t)``, through mappings, namedtuples, tuples and lists."""
    if isinstance(obj, leaf):
        return fn(obj)
    if isinstance(obj, collections.abc.Mapping):
        out = {k: tree_map(fn, v, leaf) for k, v in obj.items()}
        try:
            return type(obj)(out)
        except TypeError:
            return out
    if _is_namedtuple(obj):
        return type(obj)(*(tree_map(fn, v, leaf) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(tree_map(fn, v, leaf) for v in obj)
    return obj
