"""Moving and casting a Module in place: ``to``, ``cpu``/``cuda``, ``float``/``double``/...,
gradients (``zero_grad``, ``requires_grad_``) and ``apply`` (a mixin base of
:class:`xpnn.nn.Module`)."""
from __future__ import annotations

from .. import backend as B
from .._memory_format import sparse_coo
from ..backend_meta import COPY_OUT
from ..autograd import no_grad


class _ModuleConvert:
    """Device, dtype and gradient methods; mixed into Module."""

    def to(self, *args, **kwargs):
        """Move parameters and buffers to a device/backend and/or cast floating ones to a
        dtype, in place; returns the module. The forms of ``Tensor.to``: ``to("cuda")``,
        ``to("torch")``, ``to(xpnn.float64)``, ``to(backend=, device=, dtype=)``.
        Gradients move along."""
        for t, be, dtype, set_to in self._each_tensor(args, kwargs):
            if dtype is not None and not be.is_inexact(be.dtype(dtype)):  # before a change
                raise TypeError(f"Module.to only accepts floating point or complex dtypes, "
                                f"got {B.dtype_name(be.dtype(dtype))} (PyTorch's rule: "
                                "integer weights could not be trained)")
            if getattr(type(t), "_lazy_placeholder", False):  # nn/parameter.py: no values
                t._retarget(be, dtype)
                continue
            if t._be.is_meta and not be.is_meta:
                raise NotImplementedError(f"{COPY_OUT} Please use torch.nn.Module.to_empty() "
                                          "instead of torch.nn.Module.to() when moving module "
                                          "from meta to a different device.")
            floating = B.backend_of(t.array).is_inexact(t.array.dtype)  # complex too
            arr = _move(t.array, be, dtype if floating else None)
            if arr is not t.array:
                set_to(arr, be)
        return self

    def to_empty(self, *, device, recurse=True):
        """Move parameters and buffers to ``device`` without copying their values: new
        uninitialised arrays of the same shapes and dtypes (PyTorch's way off the "meta"
        device, before ``load_state_dict`` or ``reset_parameters``); returns the module.
        Gradients are dropped."""
        mods = self.modules() if recurse else (self,)
        for mod in mods:
            for table in (mod._parameters, mod._buffers):
                for name, t in list(table.items()):
                    if getattr(t, "layout", None) is sparse_coo:  # a sparse buffer: moved
                        mod._buffers[name] = t.to(device)
                        object.__setattr__(mod, name, mod._buffers[name])
                        continue
                    if t is None:
                        continue
                    be, _ = B.resolve_to(t._be, (), {"device": device}, "Module.to_empty")
                    if getattr(type(t), "_lazy_placeholder", False):
                        t._retarget(be, None)
                        continue
                    t._grad = None
                    arr = be.xp.empty(tuple(t.shape), dtype=be.dtype(B.dtype_name(t.dtype)),
                                      device=be.device)
                    _param_setter(t)(arr, be)
        return self

    def _each_tensor(self, args, kwargs):
        """(tensor, target backend, dtype, setter) for every parameter and buffer."""
        for mod in self.modules():
            for name, p in mod._parameters.items():
                if p is not None:
                    be, dtype = B.resolve_to(p._be, args, kwargs, "Module.to")
                    yield p, be, dtype, _param_setter(p)
            for name, buf in list(mod._buffers.items()):
                if getattr(buf, "layout", None) is sparse_coo:  # a new SparseTensor, as torch
                    be, dtype = B.resolve_to(buf._v._be, args, kwargs, "Module.to")
                    yield buf._v, be, dtype, _sparse_setter(mod, name, buf)
                elif buf is not None:
                    be, dtype = B.resolve_to(buf._be, args, kwargs, "Module.to")
                    yield buf, be, dtype, _param_setter(buf)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else
                       f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        """Cast floating parameters and buffers to float32 (integer ones stay)."""
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def half(self):
        return self.to(dtype="float16")

    def bfloat16(self):
        return self.to(dtype="bfloat16")

    def type(self, dst_type):
        return self.to(dtype=dst_type)

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient, or zero it in place with set_to_none=False."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                with no_grad():
                    p.grad.zero_()

    def requires_grad_(self, requires_grad=True):
        """Turn gradient recording of every parameter on or off (freezing); returns self."""
        if not isinstance(requires_grad, bool):  # PyTorch: "must be bool"
            raise TypeError(f"{type(self).__name__}.requires_grad_: requires_grad must be "
                            f"bool, got {type(requires_grad).__name__}")
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def share_memory(self):
        """PyTorch's ``share_memory`` (for torch.multiprocessing): each parameter's and
        buffer's ``share_memory_()``; returns the module."""
        for t in list(self.parameters()) + list(self.buffers()):
            t.share_memory_()
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on this one."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self


def _move(arr, be, dtype):
    """``arr`` on ``be`` with ``dtype`` (None: its own); ``arr`` itself if nothing changes."""
    if B.backend_of(arr) is be:
        if dtype is None or B.dtype_name(arr.dtype) == dtype:
            return arr
        return be.xp.astype(arr, be.dtype(dtype))
    return be.asarray(arr, dtype=dtype if dtype is not None else B.dtype_name(arr.dtype))


def _param_setter(t):
    def set_to(arr, be):
        grad = t._grad
        t._grad = None
        t.array, t._be = arr, be
        t._bump()
        if grad is not None:  # the gradient moves along, as in PyTorch
            t.grad = _move(grad.array, be, B.dtype_name(arr.dtype))
    return set_to


def _sparse_setter(mod, name, buf):
    """Replaces a sparse buffer by one whose values are ``arr`` (indices moved along)."""
    def set_to(arr, be):
        i = buf._i
        if i._be is not be:
            i = i._result(be.asarray(i.array), be)
        new = type(buf)(i, buf._v._result(arr, be), buf._size, buf._coalesced)
        mod._buffers[name] = new
        object.__setattr__(mod, name, new)
    return set_to
