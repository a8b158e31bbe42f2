"""Define-by-run reverse-mode autograd: grad modes, TensorBase, Function, backward() and grad().

``TensorBase`` is the data-and-autograd half of a Tensor: the backend array, its gradient and
its place in the graph. :class:`xpnn.tensor.Tensor` adds the math methods, each a line that
calls an op of ``xpnn.functional``. The split keeps the imports one way: the ops build on this
module, and Tensor builds on the ops.

A :class:`Function` instance is one node of the graph. ``apply`` decides, before ``forward``
runs, whether the call is recorded and which inputs need a gradient (``self.record``,
``self.needs``), so ``forward`` saves only what ``backward`` will use and an unrecorded call
prepares nothing. ``backward`` gets dL/dY for each output and returns dL/dX for each input,
written with the same ``xp`` calls as the forward, so the chain rule is visible.

With ``create_graph=True`` a second sweep (:func:`_run_graph`) calls each node's
``backward_graph`` instead, on Tensors and with recording on: higher-order gradients.

Every tensor carries a version counter that in-place changes bump. A node remembers the
versions of the tensors its backward reads and refuses to run if one changed, as PyTorch does.
"""
from __future__ import annotations

import inspect
import threading
import weakref

import array_api_compat as compat

from .. import backend as B
from .._errors import ShapeError
from .._printing import grad_fn_name

_mode = threading.local()
_anomaly = None  # xpnn.detect_anomaly() sets a checker here; None (the default) costs nothing
_tracer = None   # an exporter (xpnn.onnx) sets a recorder of every op call here; None: free


# -- grad modes ------------------------------------------------------------------------------
def is_grad_enabled():
    """Whether ops record a graph in this thread."""
    return _mode.__dict__.get("grad", True)


class _GradMode:
    """Sets the grad mode for a ``with`` block (restoring it after) or, as a decorator
    (``@no_grad()`` or bare ``@no_grad``), for every call of a function."""

    enabled = False  # the mode inside; None leaves it as it is

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and cls is not set_grad_enabled:
            return cls()(args[0])  # bare decorator: @no_grad
        return super().__new__(cls)

    def _swap(self):
        """Enter the mode; returns what :meth:`_restore` puts back."""
        prev = is_grad_enabled()
        if self.enabled is not None:
            _mode.grad = self.enabled
        return prev

    def _restore(self, prev):
        _mode.grad = prev

    def __enter__(self):
        self._prev = self._swap()

    def __exit__(self, *exc):
        self._restore(self._prev)

    def __call__(self, fn):
        swap, restore = self._swap, self._restore

        def wrapped(*args, **kwargs):
            prev = swap()
            try:
                return fn(*args, **kwargs)
            finally:
                restore(prev)

        def generator(*args, **kwargs):  # the mode holds while the body runs, each resume
            gen = wrapped(*args, **kwargs)  # (PyTorch's rule for generator functions)
            value = None
            while True:
                prev = swap()
                try:
                    item = gen.send(value)
                except StopIteration as stop:
                    return stop.value
                finally:
                    restore(prev)
                value = yield item
        out = generator if inspect.isgeneratorfunction(fn) else wrapped
        out.__name__, out.__doc__ = fn.__name__, fn.__doc__
        out.__wrapped__ = fn
        return out


class no_grad(_GradMode):
    """Context manager (and decorator) under which no op records a graph."""


class enable_grad(_GradMode):
    """Context manager (and decorator) that turns graph recording back on inside no_grad."""

    enabled = True


class inference_mode(_GradMode):
    """PyTorch's inference_mode: ``no_grad`` plus :func:`is_inference_mode_enabled`;
    ``mode=False`` turns recording on and inference mode off, as in PyTorch. Tensors made
    inside are ordinary tensors (PyTorch marks them and refuses them in autograd later)."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.enabled = not mode

    def _swap(self):
        prev = (is_grad_enabled(), is_inference_mode_enabled())
        _mode.grad, _mode.inference = self.enabled, self.mode
        return prev

    def _restore(self, prev):
        _mode.grad, _mode.inference = prev


def is_inference_mode_enabled():
    """Whether this thread is inside :class:`inference_mode`."""
    return _mode.__dict__.get("inference", False)


class set_grad_enabled(_GradMode):
    """Turn recording on or off: ``set_grad_enabled(False)`` takes effect at once (as in
    PyTorch), and used with ``with`` it restores the previous mode on exit."""

    def __init__(self, mode):
        self._prev = is_grad_enabled()
        self.enabled = bool(mode)
        _mode.grad = self.enabled

    def __enter__(self):
        _mode.grad = self.enabled

    def __call__(self, fn):
        _mode.grad = self._prev  # as a decorator it applies to calls, not to the definition
        return super().__call__(fn)


# -- TensorBase ------------------------------------------------------------------------------
class TensorBase:
    """A backend array plus what autograd needs: gradient, requires_grad, node, version.

    Attributes:
        array: the raw backend array (Chainer's name).
    """

    __slots__ = ("array", "_grad", "_rg", "_be", "_node", "_idx", "_vc", "_base", "_hooks",
                 "_view", "_views", "__weakref__")
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
        if requires_grad and not self._be.is_floating(self.array.dtype):
            raise RuntimeError(f"requires_grad_: only Tensors of floating point dtype can "
                               f"require gradients, got {B.dtype_name(self.dtype)}")
        self._rg = bool(requires_grad)
        return self

    @property
    def _version(self):
        """How many times this tensor was changed in place."""
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
            import warnings
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
        t._base = self
        return t

    @data.setter
    def data(self, value):
        arr = value.array if isinstance(value, TensorBase) else value
        if not B.is_array(arr):
            raise TypeError(f"data: assigned a {type(value).__name__}; expected a Tensor")
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
        t._vc = self._vc
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
        if self._node is None:
            return
        if not self._rg:
            raise RuntimeError("retain_grad: the tensor does not require grad")
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
        backward(self, gradient, retain_graph, create_graph, inputs)


def link_view(base, view, kind, arg):
    """Tag ``view`` as a view of ``base`` (a basic index "key", a "reshape", a "permute" or
    an "overlap"ping expansion, with its key or dims) and remember it, weakly, in the base:
    recorded in-place changes of either pass on to the other (xpnn.tensor.write_back)."""
    view._view = (base, kind, arg)
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


# -- Function --------------------------------------------------------------------------------
ALL = "all"


class Function:
    """Base of every differentiable op; subclasses write ``forward`` and ``backward``.

    Two styles share this base:

    * xpnn's ops: instance methods on backend arrays. ``Cls.apply(*tensors, **params)``
      passes the tensors' arrays to ``forward(self, *arrays, **params)``; inside both methods
      ``self.xp`` is the namespace, ``self.be`` the Backend, ``self.record`` tells whether a
      graph is being recorded and ``self.needs[i]`` whether input i needs a gradient.
      Class attributes declare what backward reads, for the in-place checks:
      ``saved_inputs`` (indices, or ``ALL``; ``forward`` may narrow it on the instance when
      what it saves depends on ``needs``) and ``saves_output``.
    * PyTorch's: ``@staticmethod forward(ctx, *args)`` and ``backward(ctx, *grads)`` on
      Tensors, with ``ctx.save_for_backward``, ``ctx.saved_tensors`` and
      ``ctx.needs_input_grad``; ``Cls.apply(*args)`` as in ``torch.autograd.Function``.
      PyTorch 2's variant, ``forward(*args)`` without ctx plus ``setup_context(ctx, inputs,
      output)``, is recognized by its ``setup_context``; ``vjp`` is another name for
      ``backward``.

    For higher-order gradients (``create_graph=True``) an xpnn-style op also defines
    ``backward_graph(self, *dYs)``: the same vector-Jacobian product written with xpnn ops
    on Tensors (dYs, and what it needs recomputed from ``self.inputs``), so that the
    gradient is itself recorded. Ops without it refuse a double backward
    (NotImplementedError); a PyTorch-style backward works on Tensors and is recorded as is.
    """

    saved_inputs = ALL
    saves_output = False
    # False for ops without a gradient (comparisons, argmax): never recorded in a graph,
    # their outputs never require grad; exporters still see them through _tracer
    differentiable = True
    # True where backward always returns new arrays that nothing else holds: a leaf can then
    # keep its first gradient as it is instead of copying it (see _accumulate)
    fresh_grads = False
    _ctx_style = False
    _setup_style = False  # PyTorch 2's forward(*args) without ctx, plus setup_context

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            cls._ctx_style = True
        if "vjp" in cls.__dict__ and "backward" not in cls.__dict__:
            cls.backward = cls.__dict__["vjp"]  # PyTorch: vjp is backward's other name
        if "setup_context" in cls.__dict__:
            cls._setup_style = True

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2 style: save what backward needs from ``inputs`` (the arguments of
        ``apply``) and ``output`` (forward's result) on ``ctx``."""
        raise NotImplementedError

    def forward(self, *xs, **params):
        raise NotImplementedError

    def backward(self, *dYs):
        raise NotImplementedError

    def __repr__(self):
        """As PyTorch prints a grad_fn: ``<MulBackward0 object at 0x...>``."""
        return f"<{self.name()} object at {hex(id(self))}>"

    def name(self):
        """PyTorch's name of this node: ``"MulBackward0"``, ``"MyFnBackward"``."""
        if self._ctx_style:
            return f"{type(self).__name__}Backward"
        meta = self.__dict__.get("out_meta")
        ndim = len(meta[0][0]) if meta else 0
        return grad_fn_name(self, ndim)

    @property
    def next_functions(self):
        """One ``(node, output index)`` per input, as PyTorch's: the node that made it, an
        :class:`AccumulateGrad` for a leaf that requires grad, ``(None, 0)`` otherwise
        (empty once backward has freed the graph)."""
        d = self.__dict__
        return tuple((src, idx) if src is not None else
                     (AccumulateGrad(t), 0) if t is not None and t._rg else (None, 0)
                     for t, (src, idx) in zip(d.get("inputs", ()), d.get("edges", ())))

    @classmethod
    def apply(cls, *inputs, **params):
        if cls._ctx_style:
            return _apply_ctx(cls, inputs, params)
        first = inputs[0]
        be = first._be
        for t in inputs:
            if t._be is not be:
                _mixed(cls.__name__, inputs)
        fn = cls.__new__(cls)
        fn.be, fn.xp = be, be.xp
        record = False
        if cls.differentiable and _mode.__dict__.get("grad", True):
            needs = tuple(t._rg for t in inputs)
            record = True in needs
        fn.record = record
        fn.needs = needs if record else (False,) * len(inputs)
        out = fn.forward(*[t.array for t in inputs], **params)
        if _anomaly is not None:
            _anomaly.forward(cls, inputs, out, fn if record else None)
        node = fn if record else None
        if type(out) is tuple:
            outs = tuple(first._result(o, be, node, i) for i, o in enumerate(out))
            if record:
                fn.out_meta = [(o.shape, o.dtype) for o in out]
        else:
            outs = first._result(out, be, node, 0)
        if _tracer is not None:
            _tracer.record(cls, inputs, params, outs)
        if record:
            fn.inputs = inputs
            # where each input's gradient goes, fixed now: an in-place op may later rebind a
            # non-leaf input to a new node (see Tensor._become)
            fn.edges = [(t._node, t._idx) for t in inputs]
            _remember_versions(fn, cls, inputs, outs)
        return outs

    # -- PyTorch-style context --------------------------------------------------------
    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, TensorBase):
                raise TypeError(f"save_for_backward can only save tensors (or None), but "
                                f"argument {i} is of type {type(t).__name__}")
        self._saved = tuple(tensors)
        self._saved_versions = tuple(None if t is None else t._vc[0] for t in tensors)

    @property
    def saved_tensors(self):
        saved = self.__dict__.get("_saved")
        if saved is None:
            if "_saved_versions" in self.__dict__ or "inputs" not in self.__dict__:
                raise RuntimeError(f"{type(self).__name__}: saved_tensors was already freed "
                                   "by an earlier backward (pass retain_graph=True)")
            return ()
        for t, v in zip(saved, self._saved_versions):
            if t is not None and t._vc[0] != v:
                _raise_modified(type(self).__name__, t.shape, t._vc[0], v)
        return saved

    def mark_non_differentiable(self, *outputs):
        self.__dict__.setdefault("_non_diff", set()).update(id(o) for o in outputs)

    def mark_dirty(self, *tensors):
        """Inputs forward changed in place: apply returns them, rebound to this node."""
        self.__dict__.setdefault("_dirty", set()).update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    @property
    def needs_input_grad(self):
        return self.__dict__.get("_needs_input_grad", self.needs)


class AccumulateGrad:
    """The node of ``grad_fn.next_functions`` that stands for a leaf (``.variable``)."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


def _remember_versions(fn, cls, inputs, outs):
    """Store (version cell, version now, shape) of what ``cls.backward`` reads."""
    n = len(inputs)
    saved = fn.saved_inputs  # an instance may narrow its class's list in forward
    idx = range(n) if saved is ALL else [i for i in saved if i < n]
    versions = [(inputs[i]._vc, inputs[i]._vc[0], inputs[i].shape) for i in idx]
    if cls.saves_output:
        versions += [(o._vc, 0, o.shape) for o in (outs if type(outs) is tuple else (outs,))]
    fn.versions = versions


def _raise_modified(op, shape, now, then):
    raise RuntimeError(f"backward: one of the variables needed for gradient computation "
                       f"has been modified by an inplace operation: a tensor of shape "
                       f"{shape} that {op} saved for its gradient was modified by an "
                       f"in-place operation (version {now}, expected {then}); clone it "
                       "before changing it, or call optimizer.step() only after backward()")


def _apply_ctx(cls, args, kwargs):
    """Run a PyTorch-style Function: forward on Tensors without recording, then one node."""
    tensors = [a for a in args if isinstance(a, TensorBase)]
    if not tensors:  # nothing to differentiate: forward alone, as PyTorch
        ctx = cls.__new__(cls)
        ctx._needs_input_grad = (False,) * len(args)
        ctx.needs, ctx.record = (), False
        return _ctx_forward(cls, ctx, args, kwargs)
    be = tensors[0]._be
    for t in tensors:
        if t._be is not be:
            _mixed(cls.__name__, tensors)
    ctx = cls.__new__(cls)
    ctx.be, ctx.xp = be, be.xp
    needs = tuple(isinstance(a, TensorBase) and a._rg for a in args)
    record = is_grad_enabled() and any(needs)
    ctx._needs_input_grad = needs
    ctx.needs = tuple(t._rg for t in tensors) if record else (False,) * len(tensors)
    ctx.record = record
    out = _ctx_forward(cls, ctx, args, kwargs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    if _tracer is not None:
        _tracer.record(cls, tuple(args), kwargs, out)
    if not record:
        return out
    skip = ctx.__dict__.get("_non_diff", set())
    dirty = ctx.__dict__.get("_dirty", ())
    ctx.edges = [(t._node, t._idx) for t in tensors]
    wrapped = []
    for i, o in enumerate(outs):
        if isinstance(o, TensorBase) and id(o) not in skip:
            if id(o) in dirty:  # changed in place (mark_dirty): the input itself, rebound
                if o._node is None and o._rg:
                    raise RuntimeError(f"{cls.__name__}: a leaf Variable that requires grad "
                                       "has been used in an in-place operation")
            elif o._node is not None or any(o is t for t in tensors) or o._rg:
                o = o._result(o.array, o._be)  # never re-parent an input or a graph tensor
            o._node, o._idx, o._rg = ctx, i, True
        wrapped.append(o)
    ctx.inputs = tuple(tensors)
    ctx.versions = []
    ctx.out_meta = [(o.shape, o.dtype) if isinstance(o, TensorBase) else ((), None)
                    for o in wrapped]
    ctx._arg_is_tensor = tuple(isinstance(a, TensorBase) for a in args)
    return wrapped[0] if single else tuple(wrapped)


def _ctx_forward(cls, ctx, args, kwargs):
    """A PyTorch-style forward, unrecorded: ``forward(ctx, *args)``, or PyTorch 2's
    ``forward(*args)`` then ``setup_context(ctx, args, output)``."""
    prev = is_grad_enabled()
    _mode.grad = False
    try:
        if not cls._setup_style:
            return cls.forward(ctx, *args, **kwargs)
        out = cls.forward(*args, **kwargs)
        cls.setup_context(ctx, args, out)
        return out
    finally:
        _mode.grad = prev


def _call_ctx_backward(node, dYs):
    """Backward of a PyTorch-style node: grads as Tensors in, arrays out (one per tensor
    input; a gradient returned for a non-Tensor argument must be None)."""
    be = node.be
    grads = [None if d is None else node.inputs[0]._result(d, be) for d in dYs]
    prev = is_grad_enabled()
    _mode.grad = False
    try:
        res = type(node).backward(node, *grads)
    finally:
        _mode.grad = prev
    res = res if isinstance(res, tuple) else (res,)
    is_t = node._arg_is_tensor
    name = type(node).__name__
    if len(res) > len(is_t) and all(g is None for g in res[len(is_t):]):
        res = res[:len(is_t)]  # trailing Nones beyond the arguments: accepted, as PyTorch
    if len(res) != len(is_t):
        raise RuntimeError(f"{name}.backward returned {len(res)} gradients; expected one per "
                           f"forward argument ({len(is_t)})")
    out, inputs = [], iter(node.inputs)
    for i, (flag, g) in enumerate(zip(is_t, res)):
        if not flag:
            if g is not None:
                raise RuntimeError(f"{name}.backward returned a gradient for argument {i}, "
                                   "which is not a Tensor (return None there)")
            continue
        t = next(inputs)
        if g is None:
            out.append(None)
            continue
        arr = g.array if isinstance(g, TensorBase) else g
        if tuple(arr.shape) != tuple(t.shape):  # PyTorch: invalid gradient at index i
            raise RuntimeError(f"{name}.backward: invalid gradient at index {i}: got shape "
                               f"{tuple(arr.shape)} but expected shape {tuple(t.shape)}")
        if arr.dtype != t.dtype and t._be.is_floating(t.dtype):
            arr = t.xp.astype(arr, t.dtype)  # cast back to the input's dtype, as PyTorch
        out.append(arr)
    return tuple(out)


def _mixed(op, inputs):
    seen = sorted({f"{t._be.name}:{t._be.device}" for t in inputs})
    raise TypeError(f"{op}: inputs live on different backends/devices ({' vs '.join(seen)}); "
                    "move them with .to(backend, device) first")


# -- backward --------------------------------------------------------------------------------
def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    Args:
        tensors: a Tensor (or a sequence of them) to differentiate.
        grad_tensors: dL/d(tensor) for each (None: 1 for a one-element tensor).
        retain_graph: keep the graph for another backward.
        create_graph: record the backward itself (higher-order gradients; see
            :func:`_run_graph`); implies ``retain_graph`` unless it is False.
        inputs: accumulate only into these leaves.
    """
    roots = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    grads = list(grad_tensors) if isinstance(grad_tensors, (list, tuple)) else \
        [grad_tensors] * len(roots)
    only = capture = None
    if inputs is not None:
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not ins:
            raise RuntimeError("backward: 'inputs' cannot be empty (leave it out to "
                               "accumulate into every leaf)")
        only = {id(t) for t in ins if t._node is None}
        # a non-leaf among the inputs gets its gradient in .grad too, as in PyTorch
        inner = [t for t in ins if t._node is not None]
        capture = {(id(t._node), t._idx): [t, None] for t in inner} or None
    if create_graph:
        _run_graph(roots, grads, retain_graph is not False, capture=capture, only=only)
        for t, g in (capture or {}).values():
            if g is not None:
                t._grad = g if t._grad is None else t._grad + g
        return
    _run(roots, grads, bool(retain_graph), capture=capture, only=only)
    for t, g in (capture or {}).values():
        if g is not None:
            t._grad = t._result(t.xp.asarray(g, copy=True), t._be) if t._grad is None else \
                t._result(t._grad.array + g, t._be)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned instead of accumulated.

    ``is_grads_batched``: each grad_output has a leading batch dim; the result is the
    gradient for each slice, stacked (a loop of backward passes here, not vmap).

    Returns:
        tuple with one Tensor per input (None for an input the outputs do not depend on,
        if ``allow_unused``; zeros with ``materialize_grads``).
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: allow_unused must be True or left out when "
                         "materialize_grads=True, got allow_unused=False")
    roots = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    ins = [inputs] if isinstance(inputs, TensorBase) else list(inputs)
    if not ins:
        raise RuntimeError("grad: inputs cannot be empty")
    grads = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else \
        [grad_outputs] * len(roots)
    if len(grads) != len(roots):
        raise RuntimeError(f"grad: got {len(roots)} outputs and {len(grads)} grad_outputs")
    if is_grads_batched:
        return _grad_batched(roots, ins, grads, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    capture, keys = {}, []
    for i, t in enumerate(ins):
        if not t._rg:
            raise RuntimeError(f"grad: input {i} does not require grad")
        key = id(t) if t._node is None else (id(t._node), t._idx)
        keys.append(key)
        capture.setdefault(key, [i, None])  # an input listed twice gets the gradient twice
    if create_graph:
        _run_graph(roots, grads, retain_graph is not False, capture=capture, only=set(),
                   prune=True)
    else:
        _run(roots, grads, bool(retain_graph), capture=capture, only=set(), prune=True)
    out = [capture[key][1] for key in keys]
    result = []
    for i, (t, g) in enumerate(zip(ins, out)):
        if g is None:
            if materialize_grads:
                g = t.xp.zeros(t.array.shape, dtype=t.dtype, device=t._be.device)
            elif not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute "
                                   "the outputs; pass allow_unused=True")
        result.append(g if g is None or isinstance(g, TensorBase) else t._result(g, t._be))
    return tuple(result)


def _grad_batched(roots, ins, grads, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """:func:`grad` with ``is_grads_batched``: one pass per slice of the grad_outputs'
    leading dim, the results stacked."""
    from ..functional import stack  # the ops build on this module
    n = None
    for g in grads:
        if g is not None:
            if n is not None and g.shape[0] != n:
                raise ShapeError(f"grad: is_grads_batched needs grad_outputs with one batch "
                                 f"size, got {n} and {g.shape[0]}")
            n = g.shape[0]
    if n is None:
        raise RuntimeError("grad: is_grads_batched=True needs grad_outputs")
    per = []
    for b in range(n):
        keep = True if b < n - 1 else retain_graph
        per.append(grad(roots, ins, [None if g is None else g[b] for g in grads], keep,
                        create_graph, allow_unused, False, materialize_grads))
    return tuple(None if per[0][i] is None else stack([p[i] for p in per])
                 for i in range(len(ins)))


def _root_grad(root, grad):
    """The starting gradient of one root as an array, checked against the root."""
    be = root._be
    if grad is None:
        if _numel(root.shape) != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for a scalar "
                               f"output, not for a non-scalar output of shape {root.shape}; "
                               "pass gradient=")
        return be.xp.ones(root.array.shape, dtype=root.dtype, device=be.device)
    arr = grad.array if isinstance(grad, TensorBase) else grad
    if not B.is_array(arr):
        raise TypeError(f"backward: gradient must be a Tensor or an array, got "
                        f"{type(grad).__name__}")
    gbe = B.backend_of(arr)
    if gbe is not be:
        raise TypeError(f"backward: gradient lives on {gbe.name}:{gbe.device} but the tensor "
                        f"on {be.name}:{be.device}")
    if tuple(arr.shape) != root.shape:
        raise ShapeError(f"backward: grad of shape {tuple(arr.shape)} for a tensor of "
                         f"shape {root.shape}")
    if arr.dtype != root.dtype:  # PyTorch casts it to the tensor's dtype
        arr = be.xp.astype(arr, root.dtype)
    return arr


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _seeded(roots, grads, tensors):
    """The start of a sweep: ({node: its output gradients}, [(leaf root, its gradient)]);
    the gradients are arrays, or Tensors with ``tensors`` (create_graph)."""
    pending, leaf_roots = {}, []
    for root, g in zip(roots, grads):
        if not root._rg:
            raise RuntimeError("backward: element 0 of tensors does not require grad and does "
                               "not have a grad_fn (was it computed under no_grad, or from "
                               "inputs without requires_grad=True?)")
        arr = _root_grad(root, g)
        if tensors:
            arr = g if isinstance(g, TensorBase) and g.dtype == root.dtype else \
                root._result(arr, root._be)
        if root._node is None:
            leaf_roots.append((root, arr))
            continue
        slots = pending.get(root._node)
        if slots is None:
            slots = pending[root._node] = _slots(root._node)
        prev = slots[root._idx]
        slots[root._idx] = arr if prev is None else prev + arr
    return pending, leaf_roots


def _pruned(order, capture):
    """For :func:`grad`: the nodes of ``order`` its sweep visits, and the set of those
    whose backward it does not run. As PyTorch's engine, it runs only the nodes with a path
    down to an input; an input's own node (a non-leaf input) just has its output gradient
    read, unless its inputs lead to another input. The nodes left alone are not freed, so
    a later grad() or backward() may still go through them (MAML's fast weights: each inner
    step's grad() stops at the weights of the step before)."""
    captured = {key[0] for key in capture if type(key) is tuple}
    keep, stop, below = [], set(), set()
    for node in reversed(order):  # each node after the nodes it depends on
        d = node.__dict__
        if "inputs" not in d:  # freed: kept, so that the sweep says so if it gets there
            below.add(node)
        elif any((id(t) in capture) if src is None else (src in below or src in stop)
                 for t, (src, _) in zip(d["inputs"], d["edges"])):
            below.add(node)
        elif id(node) in captured:
            stop.add(node)
        else:
            continue
        keep.append(node)
    keep.reverse()
    return keep, stop


def _run(roots, grads, retain_graph, capture, only, prune=False):
    """The reverse sweep: from the roots down, each node once, after all its consumers.

    ``capture`` (for :func:`grad`) maps a leaf id or (node id, output index) to the slot that
    receives its gradient instead of ``.grad``; ``only`` restricts accumulation to leaves
    whose id it holds (None: every leaf). A leaf's gradient is summed over every edge that
    delivers one and accumulated once, when its last edge has delivered (see _Leaves).
    ``prune`` (:func:`grad`): only the nodes :func:`_pruned` keeps are visited.
    The per-node work is written out here, not shared with :func:`_graph_step`: this loop
    runs for every node of every training step.
    """
    pending, leaf_roots = _seeded(roots, grads, False)
    order = _topo_order(list(pending)) if pending else []
    order, stop = _pruned(order, capture) if prune else (order, ())
    leaves = _Leaves(order, [t for t, _ in leaf_roots], capture, only)
    for root, arr in leaf_roots:
        leaves.give(root, arr, False)
    for node in order:
        dYs = pending.pop(node, None)
        if dYs is None:  # nothing reached it: its leaf edges deliver nothing
            leaves.skip(node)
            continue
        d = node.__dict__
        if "inputs" not in d:
            _raise_freed(type(node).__name__)
        if "_out_hooks" in d or "_retain" in d:
            dYs = _output_hooks(node, dYs)
        if capture is not None:
            for i, dY in enumerate(dYs):
                hit = capture.get((id(node), i))
                if hit is not None and dY is not None:
                    hit[1] = dY if hit[1] is None else hit[1] + dY
        if stop and node in stop:  # grad(): an input's node, read and left as it is
            leaves.skip(node)
            continue
        for vc, then, shape in node.versions:
            if vc[0] != then:
                _raise_modified(type(node).__name__, shape, vc[0], then)
        if len(dYs) > 1 and d.get("_materialize", True):  # a missing output gradient
            # is zero (a custom Function that set_materialize_grads(False) gets None)
            dYs = [dY if dY is not None or t is None else
                   node.xp.zeros(s, dtype=t, device=node.be.device)
                   for dY, (s, t) in zip(dYs, node.out_meta)]
        dXs = _call_ctx_backward(node, dYs) if node._ctx_style else node.backward(*dYs)
        if type(dXs) is not tuple:
            dXs = (dXs,)
        if _anomaly is not None:
            _anomaly.backward(node, dXs)
        for t, (src, idx), need, dX in zip(node.inputs, node.edges, node.needs, dXs):
            if src is None:
                if need:
                    leaves.give(t, dX, node.fresh_grads)
            elif not need or dX is None:
                continue
            else:
                slots = pending.get(src)
                if slots is None:
                    slots = pending[src] = _slots(src)
                prev = slots[idx]
                slots[idx] = dX if prev is None else prev + dX
        if not retain_graph:
            _free(node, d)  # frees saved activations as the sweep goes


# what apply and backward keep on every node: the rest is what forward saved
_STRUCTURE = frozenset(("be", "xp", "record", "needs", "inputs", "edges", "versions",
                        "out_meta", "_anomaly_where", "_freed"))


def _plain(v):
    """Whether a value a forward kept is metadata (numbers, shapes, flags), not an array."""
    if v is None or type(v) in (int, float, bool, str, slice):
        return True
    if isinstance(v, (tuple, list)):
        return all(_plain(e) for e in v)
    if type(v) is dict:
        return all(_plain(e) for e in v.values())
    return False


def _free(node, d):
    """Release what a node saved once backward went through it. As PyTorch, a node that
    saved no array (add, sum, a reshape: only shapes and numbers) stays usable, so another
    backward through it works; it drops its inputs but the leaves it delivers to. Any other
    node is emptied, and a second backward reaching it raises (:func:`_raise_freed`).
    Whether an op saves only metadata is found on its first node (a scan of what forward
    kept) and remembered with the names it kept: a later node keeping other names is
    scanned again, so the hot path costs a set comparison."""
    cls = type(node)
    names = _METADATA_ONLY.get(cls)
    if names is not False and "_out_hooks" not in d and "_retain" not in d:
        kept = d.keys() - _STRUCTURE
        if names is None or kept != names:
            names = _metadata_only(node, d, kept)
            _METADATA_ONLY[cls] = names if names is not None else False
        if names is not None and kept == names:
            d["inputs"] = tuple([t if src is None and need else None
                                 for t, (src, _), need in zip(d["inputs"], d["edges"],
                                                              d["needs"])])
            d["_freed"] = True  # for create_graph: backward_graph reads the inputs
            return
    d.clear()


_METADATA_ONLY = {}  # Function class -> names its forward keeps (metadata), or False


def _metadata_only(node, d, kept):
    """``kept`` when the node saved only metadata (and declares no saved tensor), else
    None."""
    if d.get("saved_inputs", node.saved_inputs) != () or node.saves_output or \
            node._ctx_style or not all(_plain(d[k]) for k in kept):
        return None
    return frozenset(kept)


def _raise_freed(name):
    raise RuntimeError(f"backward: Trying to backward through the graph a second time (or "
                       f"directly access saved tensors after they have already been freed): "
                       f"the values {name} saved for its gradient were already freed by the "
                       f"first backward(); pass retain_graph=True to the first one to go "
                       f"through the graph twice")


def _run_graph(roots, grads, retain_graph, capture, only, prune=False):
    """The reverse sweep of ``create_graph=True``: :func:`_run`'s order and bookkeeping, but
    the gradients flowing are Tensors and each node's ``backward_graph`` (its vector-Jacobian
    product written with xpnn ops) runs with recording on, so the gradients that reach the
    leaves (or :func:`grad`) carry a graph of their own. A node without ``backward_graph``
    raises NotImplementedError rather than hand on a gradient cut from the graph."""
    pending, leaf_roots = _seeded(roots, grads, True)
    order = _topo_order(list(pending)) if pending else []
    order, stop = _pruned(order, capture) if prune else (order, ())
    leaves = _Leaves(order, [t for t, _ in leaf_roots], capture, only, _deliver_graph_leaf)
    with enable_grad():
        for root, gt in leaf_roots:
            leaves.give(root, gt, False)
        for node in order:
            dYs = pending.pop(node, None)
            if dYs is None:
                leaves.skip(node)
                continue
            _graph_step(node, dYs, leaves, pending, capture, node in stop)
            if not retain_graph and node not in stop:
                node.__dict__.clear()


def _graph_step(node, dYs, leaves, pending, capture, stop=False):
    """One node of :func:`_run_graph`: its output gradients (Tensors) in, its inputs'
    gradients handed on (``stop``: read for grad() and left as it is, see _pruned)."""
    d = node.__dict__
    name = type(node).__name__
    if "inputs" not in d or "_freed" in d:
        _raise_freed(name)
    if "_out_hooks" in d or "_retain" in d:
        dYs = _output_hooks_graph(node, dYs)
    if capture is not None:
        for i, dY in enumerate(dYs):
            hit = capture.get((id(node), i))
            if hit is not None and dY is not None:
                hit[1] = dY if hit[1] is None else hit[1] + dY
    if stop:
        leaves.skip(node)
        return
    for vc, then, shape in node.versions:
        if vc[0] != then:
            _raise_modified(name, shape, vc[0], then)
    if len(dYs) > 1 and d.get("_materialize", True):
        like = node.inputs[0]
        dYs = [dY if dY is not None or t is None else
               like._result(node.xp.zeros(s, dtype=t, device=node.be.device), node.be)
               for dY, (s, t) in zip(dYs, node.out_meta)]
    if node._ctx_style:
        dXs = _call_ctx_backward_graph(node, dYs)
    else:
        step = getattr(node, "backward_graph", None)
        if step is None:
            raise NotImplementedError(f"double backward of {name} is not supported by xpnn "
                                      "(create_graph=True)")
        dXs = step(*dYs)
    if type(dXs) is not tuple:
        dXs = (dXs,)
    for t, (src, idx), need, dX in zip(node.inputs, node.edges, node.needs, dXs):
        if src is None:
            if need:
                leaves.give(t, dX, False)
        elif not need or dX is None:
            continue
        else:
            slots = pending.get(src)
            if slots is None:
                slots = pending[src] = _slots(src)
            prev = slots[idx]
            slots[idx] = dX if prev is None else prev + dX


def _call_ctx_backward_graph(node, dYs):
    """A PyTorch-style node's backward with recording on: its Tensor ops build the graph of
    the gradient, as in PyTorch (one gradient per tensor input, shapes checked)."""
    res = type(node).backward(node, *dYs)
    res = res if isinstance(res, tuple) else (res,)
    is_t = node._arg_is_tensor
    name = type(node).__name__
    if len(res) > len(is_t) and all(g is None for g in res[len(is_t):]):
        res = res[:len(is_t)]
    if len(res) != len(is_t):
        raise RuntimeError(f"{name}.backward returned {len(res)} gradients; expected one per "
                           f"forward argument ({len(is_t)})")
    out, inputs = [], iter(node.inputs)
    for i, (flag, g) in enumerate(zip(is_t, res)):
        if not flag:
            if g is not None:
                raise RuntimeError(f"{name}.backward returned a gradient for argument {i}, "
                                   "which is not a Tensor (return None there)")
            continue
        t = next(inputs)
        if g is not None and not isinstance(g, TensorBase):
            g = t._result(g, t._be)
        if g is not None and g.shape != t.shape:
            raise RuntimeError(f"{name}.backward: invalid gradient at index {i}: got shape "
                               f"{g.shape} but expected shape {t.shape}")
        out.append(g)
    return tuple(out)


def _output_hooks_graph(node, dYs):
    """:func:`_output_hooks` for Tensor gradients: hooks see (and may replace) the Tensor;
    a retained gradient keeps its graph."""
    dYs = list(dYs)
    for i, hooks in node.__dict__.get("_out_hooks", {}).items():
        if dYs[i] is None:
            continue
        for hook in hooks:
            out = hook(dYs[i])
            if out is not None:
                _hooked(dYs[i].array, out)
                dYs[i] = out
    for i, ref in node.__dict__.get("_retain", {}).items():
        t = ref()
        if t is not None and dYs[i] is not None:
            t._grad = dYs[i] if t._grad is None else t._grad + dYs[i]
    return dYs


def _deliver_graph_leaf(leaf, g, fresh, capture, only):
    """:func:`_deliver_leaf` for a Tensor gradient: ``.grad`` becomes a Tensor that carries
    its graph (PyTorch's create_graph), summed out of place with an earlier one."""
    if not leaf._rg:
        return
    if g.shape != leaf.shape:
        raise RuntimeError(f"internal: gradient of shape {g.shape} for a leaf of shape "
                           f"{leaf.shape}")
    hooks = leaf._hooks
    if hooks and hooks.get("pre"):
        for hook in hooks["pre"]:
            out = hook(g)
            if out is not None:
                _hooked(g.array, out)
                g = out
    if capture is not None:
        hit = capture.get(id(leaf))
        if hit is not None:
            hit[1] = g if hit[1] is None else hit[1] + g
    if only is not None and id(leaf) not in only:
        return
    # a copy in the graph: the same Tensor may reach another leaf (add's backward), and
    # optimizers and clipping change gradients in place
    leaf._grad = g.clone() if leaf._grad is None else leaf._grad + g
    if hooks and hooks.get("post"):
        for hook in hooks["post"]:
            hook(leaf)


def _output_hooks(node, dYs):
    """Run hooks registered on a node's output tensors; keep retained gradients."""
    dYs = list(dYs)
    be = node.be
    for i, hooks in node.__dict__.get("_out_hooks", {}).items():
        if dYs[i] is None:
            continue
        for hook in hooks:
            with no_grad():
                out = hook(node.inputs[0]._result(dYs[i], be))
            if out is not None:
                dYs[i] = _hooked(dYs[i], out)
    for i, ref in node.__dict__.get("_retain", {}).items():
        t = ref()
        if t is not None and dYs[i] is not None:
            g = be.xp.asarray(dYs[i], copy=True)
            t._grad = t._result(g, be) if t._grad is None else \
                t._result(t._grad.array + g, be)
    return dYs


def _slots(node):
    return [None] * len(node.__dict__.get("out_meta", (None,)))


class _Leaves:
    """Gradients on their way to leaves, as PyTorch's AccumulateGrad receives them: summed
    over every edge of this backward that reaches the leaf, then handed on once (hooks,
    ``.grad``, post-accumulate hooks) as soon as the last of those edges has delivered, so
    hooks see the whole gradient and a leaf's hooks run once per backward."""

    def __init__(self, order, leaf_roots, capture, only, deliver=None):
        self.capture, self.only, self.sums = capture, only, {}
        self.deliver = _deliver_leaf if deliver is None else deliver
        left = {}
        for t in leaf_roots:
            left[id(t)] = left.get(id(t), 0) + 1
        for node in order:
            d = node.__dict__
            for t, (src, _), need in zip(d.get("inputs", ()), d.get("edges", ()),
                                         d.get("needs", ())):
                if src is None and need:
                    left[id(t)] = left.get(id(t), 0) + 1
        self.left = left

    def give(self, leaf, g, fresh):
        """One edge's gradient for ``leaf`` (None: the edge delivered nothing)."""
        key = id(leaf)
        left = self.left[key] - 1
        self.left[key] = left
        if g is not None:
            have = self.sums.get(key)
            self.sums[key] = (g, fresh) if have is None else (have[0] + g, True)
        if left == 0:
            done = self.sums.pop(key, None)
            if done is not None:
                self.deliver(leaf, done[0], done[1], self.capture, self.only)

    def skip(self, node):
        """A node backward never reached: its leaf edges deliver nothing."""
        d = node.__dict__
        for t, (src, _), need in zip(d.get("inputs", ()), d.get("edges", ()),
                                     d.get("needs", ())):
            if src is None and need:
                self.give(t, None, False)


def _deliver_leaf(leaf, g, fresh, capture, only):
    if not leaf._rg:  # it stopped requiring grad after the graph was built (PyTorch)
        return
    if tuple(g.shape) != leaf.shape:
        raise RuntimeError(f"internal: gradient of shape {tuple(g.shape)} for a leaf of shape "
                           f"{leaf.shape}")
    hooks = leaf._hooks
    if hooks and hooks.get("pre"):  # before autograd.grad captures it too, as PyTorch
        for hook in hooks["pre"]:
            with no_grad():  # hooks run without recording, as in PyTorch's backward
                out = hook(leaf._result(g, leaf._be))
            if out is not None:
                g, fresh = _hooked(g, out), False
    if capture is not None:
        hit = capture.get(id(leaf))
        if hit is not None:
            hit[1] = g if hit[1] is None else hit[1] + g
    if only is not None and id(leaf) not in only:
        return
    _accumulate(leaf, g, fresh)


def _hooked(g, out):
    """A hook's replacement ``out`` for the gradient ``g``, refused where its shape or dtype differ
    (PyTorch: the hook has changed the size or type of value)."""
    arr = out.array if isinstance(out, TensorBase) else out
    if tuple(arr.shape) != tuple(g.shape):
        raise RuntimeError(f"hook: a hook has changed the size of value: it returned shape "
                           f"{tuple(arr.shape)} for a gradient of shape {tuple(g.shape)}")
    if arr.dtype != g.dtype:
        raise RuntimeError(f"hook: a hook has changed the type of value: it returned "
                           f"{B.dtype_name(arr.dtype)} for a {B.dtype_name(g.dtype)} gradient")
    return arr


def _accumulate(leaf, g, fresh=False):
    """Add ``g`` (hooks already run) into ``leaf.grad``, then the post-accumulate hooks."""
    hooks = leaf._hooks
    if leaf._grad is not None:
        acc = leaf._grad
        acc.array = acc.array + g
        acc._vc[0] += 1
    else:
        # Unless the op vouches that g is its own new array, copy it: g may be a read-only
        # broadcast view (sum's backward) or the very array another leaf receives (add's
        # backward), and optimizers and clipping update gradients and parameters in place.
        leaf._grad = leaf._result(g if fresh else leaf._be.xp.asarray(g, copy=True), leaf._be)
    if hooks and hooks.get("post"):
        for hook in hooks["post"]:
            hook(leaf)


def _topo_order(roots):
    """Nodes from ``roots`` down, each before every node it depends on."""
    order, seen, stack = [], set(), [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for src, _ in node.__dict__.get("edges", ()):
            if src is not None and src not in seen:
                stack.append((src, False))
    order.reverse()
    return order


# -- coercion used by the ops ----------------------------------------------------------------
def as_tensor(x, like=None, op="op"):
    """A Tensor for a Tensor, or (with ``like``) a backend array, Python or NumPy scalar.

    Python scalars take ``like``'s dtype (PyTorch: a number does not promote a tensor); a
    float meeting an integer or bool tensor becomes the default float dtype, an int meeting
    a bool tensor int64. Arrays must live on ``like``'s backend and device (one rule: mixing
    raises).
    """
    if isinstance(x, TensorBase):
        return x
    if like is None:
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}; make one with "
                        "xpnn.tensor(...)")
    be = like._be
    if isinstance(x, B.np.generic) or (isinstance(x, B.np.ndarray) and x.ndim == 0):
        # a NumPy scalar (np.float64(2.0), np.asarray(2.0), a reduction's result) acts like
        # the Python number it holds, as in PyTorch: it must not upcast a float32 tensor
        x = x.item()
    if isinstance(x, (bool, int, float)):
        if isinstance(x, bool):
            dtype = be.xp.bool
        elif isinstance(x, float) and not be.is_floating(like.dtype):
            dtype = be.dtype(B.get_default_dtype())
        elif like.dtype == be.xp.bool:  # an int: True + 1 is 2 (PyTorch), not True
            dtype = be.xp.int64
        else:
            dtype = like.dtype
        return like._result(be.xp.asarray(x, dtype=dtype, device=be.device), be)
    if B.is_array(x):
        xb = B.backend_of(x)
        if xb is not be:
            raise TypeError(f"{op}: an array on {xb.name}:{xb.device} met a tensor on "
                            f"{be.name}:{be.device}; move it with .to(...) first")
        return like._result(x, be)
    if isinstance(x, (list, tuple)):  # as xpnn.tensor(x): floats in the default float dtype
        host = B.np.asarray(x)
        dtype = B.get_default_dtype() if host.dtype.kind == "f" else \
            "int64" if host.dtype.kind in "iu" else None
        return like._result(be.asarray(host, dtype=dtype), be)
    raise TypeError(f"{op}: expected a Tensor, an array or a number, got {type(x).__name__}")


def unwrap(x):
    """The backend array of a Tensor; anything else as it is."""
    return x.array if isinstance(x, TensorBase) else x


def raw(x, like, op, name):
    """The backend array of a secondary argument (a weight, a mask, an index), on ``like``'s
    backend: Tensors and arrays of that backend pass, host data (lists, NumPy scalars) is
    converted, an array of another backend or device raises TypeError naming ``op`` and
    ``name``."""
    if x is None:
        return None
    if isinstance(x, TensorBase):
        x = x.array
    be = like._be
    if isinstance(x, B.np.generic) or (isinstance(x, B.np.ndarray) and x.ndim == 0):
        x = x.item()  # a NumPy scalar is a number
    if B.is_array(x):
        xb = B.backend_of(x)
        if xb is not be:
            raise TypeError(f"{op}: {name} lives on {xb.name}:{xb.device} but the input on "
                            f"{be.name}:{be.device}; move it with .to(...) first")
        return x
    if isinstance(x, (list, tuple, bool, int, float, B.np.generic)):
        return be.asarray(x)
    raise TypeError(f"{op}: {name} must be a Tensor or an array, got {type(x).__name__}")


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, TensorBase)


class Variable(metaclass=_VariableMeta):
    """PyTorch's pre-0.4 wrapper, kept for old programs: ``Variable(t, requires_grad=True)``
    is ``t.detach().requires_grad_(True)`` (the same data, a new leaf), and every tensor is
    an instance of Variable."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        if not isinstance(data, TensorBase):
            raise TypeError(f"Variable: data has to be a tensor, but got "
                            f"{type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)
