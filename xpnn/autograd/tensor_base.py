"""TensorBase: the data-and-autograd half of a Tensor (the backend array, its gradient, its
place in the graph and its version counter), with the view links and removable hook handles.

:class:`xpnn.tensor.Tensor` adds the math methods on top of it."""
from __future__ import annotations

import warnings
import weakref

import array_api_compat as compat

from .. import backend as B
from . import grad_mode as _gm
from .grad_mode import _mode


# ``_inf``: False for a normal tensor, True for an inference tensor (made under
# inference_mode, or a view of one), ALIAS for its detach() or .data: an inference tensor
# that PyTorch still lets change in place outside inference mode
ALIAS = 2


class TensorBase:
    """A backend array plus what autograd needs: gradient, requires_grad, node, version.

    Attributes:
        array: the raw backend array (Chainer's name).
    """

    __slots__ = ("array", "_grad", "_rg", "_be", "_node", "_idx", "_vc", "_base", "_hooks",
                 "_view", "_views", "_inf", "__weakref__")
    __array_priority__ = 1000  # NumPy defers ``ndarray op Tensor`` to Tensor

    def __init__(self, array, *, requires_grad=False, _be=None):
        _init(self, array, _be if _be is not None else B.backend_of(array), None, 0)
        if requires_grad:
            self.requires_grad_(True)

    def _result(self, array, be, node=None, idx=0):
        """A new plain Tensor holding ``array`` (xpnn.tensor.Tensor overrides this)."""
        raise NotImplementedError

    # -- metadata -------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.array.shape)

    @property
    def ndim(self):
        return len(self.array.shape)

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def backend(self):
        """The backend's name: "numpy", "cupy", "torch" or "array_api_strict"."""
        return self._be.name

    @property
    def xp(self):
        return self._be.xp

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf)."""
        return self._node

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Record operations on this leaf for backward (in place; returns self)."""
        if self._node is not None and not requires_grad:
            raise RuntimeError("requires_grad_: you can only change requires_grad of leaf "
                               "tensors; use .detach() to get a tensor cut from the graph")
        if requires_grad and not self._be.is_inexact(self.array.dtype):
            raise RuntimeError(f"requires_grad_: only Tensors of floating point dtype can "
                               f"require gradients, got {B.dtype_name(self.dtype)}")
        if requires_grad and self._inf and not _mode.__dict__.get("inference", False):
            raise RuntimeError("requires_grad_: Setting requires_grad=True on inference tensor "
                               "outside InferenceMode is not allowed (clone() it first)")
        self._rg = bool(requires_grad)
        return self

    @property
    def _version(self):
        """How many times this tensor was changed in place."""
        if self._inf:
            raise RuntimeError("_version: Inference tensors do not track version counter.")
        return self._vc[0]

    def _bump(self):
        """Record an in-place change (in-place ops, optimizer steps, load_state_dict)."""
        self._vc[0] += 1

    def _assign(self, arr):
        """Overwrite the data with ``arr`` (this tensor's backend and shape): in place where
        the array is writeable, else by rebinding; bumps the version."""
        own = self.array
        if tuple(own.shape) == tuple(arr.shape) and compat.is_writeable_array(own):
            own[...] = arr if arr.dtype == own.dtype else self._be.xp.astype(arr, own.dtype)
        else:
            self._set_array(arr)
        self._changed()

    def _changed(self):
        """After an unrecorded change of the array in place: the version bumped (a Tensor
        also re-reads the diagonal views that hold copies of it)."""
        self._vc[0] += 1

    # -- .grad and .data, as in PyTorch ---------------------------------------------
    @property
    def grad(self):
        """dL/d(self) after backward(): a Tensor, or None. A non-leaf keeps no gradient
        unless it called retain_grad(): reading it then warns, as in PyTorch."""
        g = self._grad
        if g is None and self._node is not None and not self.retains_grad:
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being "
                          "accessed: backward() does not fill it in. Call .retain_grad() on "
                          "this tensor before backward() to keep its gradient, or read .grad "
                          "of the leaf tensor you meant.", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, TensorBase):
                if not B.is_array(value):
                    raise TypeError(f"grad: assigned a {type(value).__name__}; expected a "
                                    "Tensor or None")
                value = self._result(value, B.backend_of(value))
            if value._be is not self._be:
                raise TypeError(f"grad: assigned a gradient on {value._be.name}:"
                                f"{value._be.device} to a tensor on {self._be.name}:"
                                f"{self._be.device}")
            if value.shape != self.shape:
                raise RuntimeError(f"grad: assigned a gradient of shape {value.shape} to a "
                                   f"tensor of shape {self.shape}")
            if value.dtype != self.dtype:
                raise RuntimeError(f"grad: assigned a gradient of dtype "
                                   f"{B.dtype_name(value.dtype)} to a tensor of dtype "
                                   f"{B.dtype_name(self.dtype)}")
        self._grad = value

    @property
    def data(self):
        """A Tensor sharing this tensor's array, cut from the graph and unseen by autograd's
        version checks (PyTorch's ``.data``): ``p.data.add_(g, alpha=-lr)`` updates ``p``."""
        t = self._result(self.array, self._be)
        t._base, t._inf = self, self._inf and ALIAS
        return t

    @data.setter
    def data(self, value):
        arr = value.array if isinstance(value, TensorBase) else value
        if not B.is_array(arr):
            raise TypeError(f"data: assigned a {type(value).__name__}; expected a Tensor")
        if self._rg and not B.backend_of(arr).is_inexact(arr.dtype):
            raise RuntimeError(f"data: a tensor that requires grad must hold floating point "
                               f"or complex data, got {B.dtype_name(arr.dtype)}")
        self.array, self._be = arr, B.backend_of(arr)

    def _set_array(self, arr):
        """Rebind this tensor (and the tensor it is ``.data`` of) to a new array, for an
        in-place change the backend could not make in place."""
        self.array = arr
        base = self._base
        while base is not None:
            base.array = arr
            base = base._base

    def detach(self):
        """The same array cut from the graph (shares the version counter, as in PyTorch)."""
        t = self._result(self.array, self._be)
        t._vc, t._inf = self._vc, self._inf and ALIAS  # still an inference tensor (PyTorch)
        return t

    # -- hooks ----------------------------------------------------------------------
    def register_hook(self, hook):
        """Call ``hook(grad)`` with the gradient w.r.t. this tensor during backward; a
        Tensor it returns replaces the gradient. Returns a handle with ``remove()``."""
        if not self._rg:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        if self._node is None:
            hooks = self._hook_table().setdefault("pre", [])
        else:
            node_hooks = self._node.__dict__.setdefault("_out_hooks", {})
            hooks = node_hooks.setdefault(self._idx, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a leaf's ``.grad`` was accumulated in backward."""
        if self._node is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors have "
                               "accumulated gradients")
        hooks = self._hook_table().setdefault("post", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def zero_grad(self):
        """Drop this tensor's gradient (``grad = None``)."""
        self._grad = None

    def retain_grad(self):
        """Keep ``.grad`` of this non-leaf tensor after backward (leaves always keep it)."""
        if not self._rg:  # leaves too (PyTorch)
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has "
                               "requires_grad=False")
        if self._node is None:
            return
        ref = weakref.ref(self)
        self._node.__dict__.setdefault("_retain", {})[self._idx] = ref
        self._hook_table()["retain"] = True  # still True after backward freed the node

    @property
    def retains_grad(self):
        hooks = self._hooks
        return self._node is not None and bool(hooks) and hooks.get("retain", False)

    def _hook_table(self):
        if self._hooks is None:
            self._hooks = {}
        return self._hooks

    # -- autograd -------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` that requires it.

        Args:
            gradient: dL/d(self) (a Tensor or an array of this backend, shape and dtype);
                defaults to 1 for a one-element tensor.
            retain_graph: keep saved arrays so backward can run again through this graph.
            create_graph: record the backward itself, so the gradients can be differentiated
                again (ops with a ``backward_graph``; implies ``retain_graph``).
            inputs: accumulate only into these leaves (default: every leaf).
        """
        from . import backward  # the entry point, in the package: it imports this module
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)


def link_view(base, view, kind, arg):
    """Tag ``view`` as a view of ``base`` (a basic index "key", a "reshape", a "permute" or
    an "overlap"ping expansion, with its key or dims) and remember it, weakly, in the base:
    recorded in-place changes of either pass on to the other (xpnn.tensor.write_back)."""
    view._view = (base, kind, arg)
    view._inf = bool(base._inf)  # a view is an inference tensor when its base is (PyTorch)
    views = base._views
    if views is None:
        views = base._views = weakref.WeakSet()
    views.add(view)
    return view


def _init(t, array, be, node, idx):
    """Fill the slots of a new tensor (used by TensorBase and Tensor._result)."""
    t.array, t._be, t._node, t._idx = array, be, node, idx
    t._grad, t._base, t._hooks, t._view, t._views = None, None, None, None, None
    t._rg = node is not None
    t._vc = [0]
    # made under inference_mode; one global read until the first inference_mode
    t._inf = _gm.inference_seen and _mode.__dict__.get("inference", False)
    return t


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
