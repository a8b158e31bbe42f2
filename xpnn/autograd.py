"""Define-by-run reverse-mode autograd: Tensor, Function, backward(), no_grad().

A Function instance is one node of the graph. ``forward`` works on backend arrays and saves
what ``backward`` needs on ``self``; ``backward`` gets dL/dY for each output and returns
dL/dX for each input, written with the same ``xp`` calls, so the chain rule is visible.
"""
from __future__ import annotations

import threading

from . import backend as B

_mode = threading.local()
_anomaly = None  # xpnn.detect_anomaly() sets a checker here; None (the default) costs nothing


def is_grad_enabled():
    return getattr(_mode, "grad", True)


class no_grad:
    """Context manager (and decorator) under which no op records a graph."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        _mode.grad = False

    def __exit__(self, *exc):
        _mode.grad = self._prev

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
        return wrapped


class enable_grad(no_grad):
    """Context manager that turns graph recording back on inside ``no_grad``."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        _mode.grad = True


class Function:
    """Base of every differentiable op; subclasses write ``forward`` and ``backward``.

    ``Cls.apply(*tensors, **params)``: tensors are the differentiable inputs (all of one
    backend and device), params are passed to ``forward`` as keywords. Inside both methods
    ``self.xp`` is the namespace and ``self.be`` the Backend. ``self.needs[i]`` tells whether
    input i needs a gradient, so backward can skip work.
    """

    n_out = 1  # multi-output ops set this, or return a tuple from forward
    # True where backward always returns new arrays that nothing else holds: a leaf can then
    # keep its first gradient as it is instead of copying it (see _accumulate)
    fresh_grads = False

    def forward(self, *xs, **params):
        raise NotImplementedError

    def backward(self, *dYs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls.__new__(cls)
        be = inputs[0]._be
        for t in inputs:
            if t._be is not be:
                _mixed(cls.__name__, inputs)
        fn.be, fn.xp = be, be.xp
        out = fn.forward(*[t.data for t in inputs], **params)
        record = _mode.__dict__.get("grad", True) and any(t.requires_grad for t in inputs)
        if record:
            fn.inputs = inputs
            fn.needs = tuple(t.requires_grad for t in inputs)
        else:
            fn = None
        if _anomaly is not None:
            _anomaly.forward(cls, inputs, out, fn)
        if type(out) is tuple:
            if fn is not None:
                fn.out_meta = [(o.shape, o.dtype) for o in out]
            return tuple(Tensor._wrap(o, be, fn, i) for i, o in enumerate(out))
        return Tensor._wrap(out, be, fn, 0)


def _mixed(op, inputs):
    seen = sorted({f"{t._be.name}:{t._be.device}" for t in inputs})
    raise TypeError(f"{op}: inputs live on different backends/devices ({' vs '.join(seen)}); "
                    "move them with .to(backend, device) first")


class Tensor:
    """A backend array plus what autograd needs: ``grad``, ``requires_grad`` and its node.

    Use :func:`xpnn.tensor` to make one. ``data`` is the raw backend array.
    """

    __slots__ = ("data", "grad", "requires_grad", "_be", "_node", "_idx", "__weakref__")
    __array_priority__ = 1000  # NumPy defers ``ndarray op Tensor`` to Tensor

    def __init__(self, data, *, requires_grad=False, _be=None):
        self.data = data
        self._be = _be if _be is not None else B.backend_of(data)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self._idx = 0

    @classmethod
    def _wrap(cls, data, be, node, idx):
        t = Tensor.__new__(Tensor)
        t.data, t._be, t.grad, t._idx = data, be, None, idx
        t._node = node
        t.requires_grad = node is not None
        return t

    # -- metadata -------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return len(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def backend(self):
        return self._be.name

    @property
    def device(self):
        return self._be.device

    @property
    def xp(self):
        return self._be.xp

    @property
    def is_leaf(self):
        return self._node is None

    def __len__(self):
        return self.data.shape[0]

    def size(self):
        n = 1
        for d in self.data.shape:
            n *= d
        return n

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        # array2string, not repr: NumPy's repr adds its own dtype, and a 0-d result of a
        # NumPy reduction is a scalar whose repr is "np.float32(...)"
        body = B.np.array2string(B.np.asarray(self.numpy()), separator=", ")
        dtype = B.dtype_name(self.dtype)
        return f"Tensor({body}, dtype={dtype}, backend={self.backend!r}{grad})"

    # -- conversion -----------------------------------------------------------------
    def numpy(self):
        """A NumPy copy of the data on the host."""
        return B.to_numpy(self.data).copy() if self.backend != "numpy" else self.data.copy()

    def item(self):
        return self.numpy().item()

    def __float__(self):
        return float(self.item())

    def __bool__(self):
        if self.size() != 1:
            raise ValueError(f"the truth value of a Tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data, _be=self._be)

    def requires_grad_(self, flag=True):
        self.requires_grad = bool(flag)
        return self

    def to(self, backend=None, device=None, dtype=None):
        """This tensor on another backend/device/dtype (differentiable)."""
        from .functional.shape import to
        return to(self, backend, device, dtype)

    def astype(self, dtype):
        return self.to(dtype=dtype)

    def float(self):
        return self.astype("float32")

    def double(self):
        return self.astype("float64")

    # -- autograd -------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` that requires it.

        Args:
            grad: dL/d(self); defaults to 1 for a one-element tensor.
            retain_graph: keep saved arrays so backward can run again through this graph.
        """
        backward(self, grad, retain_graph)

    def zero_grad(self):
        self.grad = None


def backward(root, grad=None, retain_graph=False):
    """Reverse-mode sweep from ``root``; frees each node's saved arrays once it has run."""
    xp = root._be.xp
    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no graph "
                           "(was it computed under no_grad, or from inputs without "
                           "requires_grad=True?)")
    if grad is None:
        if root.size() != 1:
            raise RuntimeError(f"backward: grad must be given for a non-scalar output of "
                               f"shape {root.shape}")
        grad = xp.ones(root.data.shape, dtype=root.dtype, device=root.device)
    elif isinstance(grad, Tensor):
        grad = grad.data
    if tuple(grad.shape) != root.shape:
        raise ValueError(f"backward: grad of shape {tuple(grad.shape)} for a tensor of "
                         f"shape {root.shape}")
    if root._node is None:
        _accumulate(root, grad)
        return
    grads = {root._node: _slots(root._node)}
    grads[root._node][root._idx] = grad
    for node in _topo_order(root._node):
        dYs = grads.pop(node, None)
        if dYs is None:
            continue
        if not hasattr(node, "inputs"):
            raise RuntimeError("backward: this graph was already freed by an earlier "
                               "backward(); pass retain_graph=True to go through it twice")
        if len(dYs) > 1:  # multi-output op: a missing output gradient is zero
            dYs = [d if d is not None else xp.zeros(s, dtype=t, device=root.device)
                   for d, (s, t) in zip(dYs, node.out_meta)]
        dXs = node.backward(*dYs)
        if type(dXs) is not tuple:
            dXs = (dXs,)
        if _anomaly is not None:
            _anomaly.backward(node, dXs)
        for t, need, dX in zip(node.inputs, node.needs, dXs):
            if not need or dX is None:
                continue
            if t._node is None:
                _accumulate(t, dX, node.fresh_grads)
            else:
                slots = grads.get(t._node)
                if slots is None:
                    slots = grads[t._node] = _slots(t._node)
                prev = slots[t._idx]
                slots[t._idx] = dX if prev is None else prev + dX
        if not retain_graph:
            node.__dict__.clear()  # frees saved activations as the sweep goes


def _slots(node):
    return [None] * (len(node.out_meta) if hasattr(node, "out_meta") else 1)


def _accumulate(leaf, g, fresh=False):
    if tuple(g.shape) != leaf.shape:
        raise RuntimeError(f"internal: gradient of shape {tuple(g.shape)} for a leaf of shape "
                           f"{leaf.shape}")
    if leaf.grad is not None:
        leaf.grad = leaf.grad + g
    else:
        # Unless the op vouches that g is its own new array, copy it: g may be a read-only
        # broadcast view (sum's backward) or the very array another leaf receives (add's
        # backward), and optimizers and clipping update gradients and parameters in place.
        leaf.grad = g if fresh else leaf._be.xp.asarray(g, copy=True)


def _topo_order(root):
    """Nodes from ``root`` down, each before every node it depends on."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for t in getattr(node, "inputs", ()):
            if t._node is not None and t._node not in seen:
                stack.append((t._node, False))
    order.reverse()
    return order


def tensor(data, backend=None, device=None, dtype=None, requires_grad=False):
    """Make a Tensor on a backend.

    Args:
        data: a Python scalar/list, a NumPy array, an array of any backend, or a Tensor.
        backend: ``"numpy"``, ``"cupy"``, ``"torch"``, ``"array_api_strict"``; default: the
            backend of ``data`` if it is a backend array, else ``set_default_backend``'s.
        device: the device on that backend (``None``: its default).
        dtype: a dtype name or object. ``None`` keeps integer and bool data as they are and
            makes floating data float32 (the default float dtype; no silent float64).
        requires_grad: record operations on it for backward().
    Returns:
        Tensor owning a copy of the data (``as_tensor`` wraps a backend array without copying)
    """
    if isinstance(data, Tensor):
        data = data.data
    if backend is None and B.is_array(data) and B._name_of_array(data) != "numpy":
        be = B.get_backend(data, device)
    else:
        be = B.get_backend(backend, device)
    if dtype is None:
        dtype = _default_dtype_for(data)
    if B.is_array(data) and B.backend_of(data) is be:
        # a copy, as torch.tensor makes: optimizers update parameters in place, and a
        # wrapped user array would change under them (as_tensor wraps without copying)
        arr = be.xp.asarray(data, copy=True) if (dtype is None or data.dtype ==
                                                 be.dtype(dtype)) else \
            be.xp.astype(data, be.dtype(dtype))
    else:
        arr = be.asarray(data, dtype=dtype)
    if requires_grad and not _is_floating(be, arr.dtype):
        raise TypeError(f"tensor: only floating tensors can require grad, got {arr.dtype}")
    return Tensor(arr, requires_grad=requires_grad, _be=be)


def _default_dtype_for(data):
    """float64 data becomes float32 (the default float dtype); everything else keeps its own."""
    dtype = data.dtype if B.is_array(data) else B.np.asarray(data).dtype
    return "float32" if str(dtype).endswith("float64") else None


def _is_floating(be, dtype):
    return be.xp.isdtype(dtype, "real floating")


def as_tensor(x, like=None):
    """A Tensor for a Tensor, a backend array or (with ``like``) a Python or NumPy scalar."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, B.np.generic):
        # a NumPy scalar (np.float64(2.0), a reduction's result) acts like the Python number
        # it holds, as in PyTorch: it must not upcast a float32 tensor to float64, nor be
        # taken for a NumPy array when ``like`` lives on another backend
        x = x.item()
    if B.is_array(x):
        return Tensor(x)
    if like is not None and isinstance(x, (int, float, bool)):
        be = like._be
        dtype = like.dtype if not isinstance(x, bool) else be.xp.bool
        if isinstance(x, float) and not _is_floating(be, dtype):
            dtype = be.dtype("float32")  # typed like an int tensor, 0.5 would become 0
        return Tensor(be.xp.asarray(x, dtype=dtype, device=be.device), _be=be)
    raise TypeError(f"expected a Tensor or a backend array, got {type(x).__name__}")


def _install_tensor_methods():
    """Operators and methods on Tensor, forwarding to xpnn.functional (imported late: the
    ops themselves need Tensor and Function from this module)."""
    from . import functional as F

    def swap(f):
        return lambda self, other: f(other, self)

    T = Tensor
    T.__add__, T.__radd__ = F.add, swap(F.add)
    T.__sub__, T.__rsub__ = F.sub, swap(F.sub)
    T.__mul__, T.__rmul__ = F.mul, swap(F.mul)
    T.__truediv__, T.__rtruediv__ = F.div, swap(F.div)
    T.__pow__, T.__rpow__ = F.pow, swap(F.pow)
    T.__matmul__, T.__rmatmul__ = F.matmul, swap(F.matmul)
    T.__neg__ = F.neg
    T.__abs__ = F.abs
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = F.lt, F.le, F.gt, F.ge
    T.__eq__, T.__ne__ = F.eq, F.ne
    T.__hash__ = object.__hash__
    T.__getitem__ = F.getitem
    for name in ("exp", "log", "sqrt", "abs", "clip", "relu", "sigmoid", "tanh", "sum", "mean",
                 "max", "min", "var", "std", "reshape", "permute", "transpose", "flatten",
                 "squeeze", "unsqueeze", "softmax", "log_softmax", "square"):
        setattr(T, name, getattr(F, name))
    T.T = property(lambda self: F.permute(self, tuple(range(self.ndim))[::-1]))
    T.view = T.reshape
