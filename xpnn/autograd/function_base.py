"""Function: one node of the graph, and ``apply``, which decides before ``forward`` runs
whether the call is recorded; PyTorch-style Functions (ctx, save_for_backward,
setup_context) go through :func:`_apply_ctx`.

``_tracer`` lives here: an exporter or a checkpoint sets a recorder of every op call on this
module (``function_base._tracer``); None costs nothing."""
from __future__ import annotations

from .._printing import grad_fn_name
from . import engine as _engine
from . import grad_mode as _gm
from .engine import _raise_modified
from .grad_mode import _mode, is_grad_enabled
from .tensor_base import TensorBase

_tracer = None   # an exporter (xpnn.onnx) sets a recorder of every op call here; None: free
# the (pack_hook, unpack_hook) pairs of the active autograd.graph.saved_tensors_hooks,
# innermost last (graph.py pushes and pops them); empty: nothing packed, one read per node
_saved_hooks = []
_saved_hooks_disabled = None  # disable_saved_tensors_hooks' message while it is active


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
    # True where the op also has ``backward_placed(self, *dYs)``: its input's gradient as a
    # Placed one (zero but for one block, see placed.py), which the backward sweep uses
    # where the input comes from another node (not a leaf)
    placed_grads = False
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
        anomaly = _engine._anomaly  # owned by the engine, which reads it per node
        if anomaly is not None:
            anomaly.forward(cls, inputs, out, fn if record else None)
        node = fn if record else None
        if type(out) is tuple:  # integer outputs (indices) are not differentiable
            outs = tuple(first._result(o, be, node if node is None or be.is_inexact(o.dtype)
                                       else None, i) for i, o in enumerate(out))
            if record:
                fn.out_meta = [(o.shape, o.dtype) for o in out]
        else:
            outs = first._result(out, be, node, 0)
        if record:
            fn.inputs = inputs
            # where each input's gradient goes, fixed now: an in-place op may later rebind a
            # non-leaf input to a new node (see Tensor._become)
            fn.edges = [(t._node, t._idx) for t in inputs]
            _remember_versions(fn, cls, inputs, outs)
            if _saved_hooks:
                _pack_saved(fn, inputs)
        if _tracer is not None:  # after the packing: a recorder may wrap the node's backward
            _tracer.record(cls, inputs, params, outs)
        return outs

    # -- PyTorch-style context --------------------------------------------------------
    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, TensorBase):
                raise TypeError(f"save_for_backward can only save tensors (or None), but "
                                f"argument {i} is of type {type(t).__name__}")
        if _gm.inference_seen and self.__dict__.get("record"):
            _refuse_inference(type(self), tensors)
        self._saved_versions = tuple(None if t is None else t._vc[0] for t in tensors)
        if _saved_hooks and self.__dict__.get("record"):
            # saved_tensors_hooks: keep what pack_hook made and the version cells alone
            unpack = _saved_hooks[-1][1]
            self._saved_packed = (unpack, tuple(
                None if t is None else (_call_pack(t), t._vc) for t in tensors))
            return
        self._saved = tuple(tensors)

    @property
    def saved_tensors(self):
        saved = self.__dict__.get("_saved")
        if saved is None and "_saved_packed" in self.__dict__:
            unpack, packed = self._saved_packed
            for p, v in zip(packed, self._saved_versions):
                if p is not None and p[1][0] != v:
                    _raise_modified(type(self).__name__, (), p[1][0], v)
            return tuple(None if p is None else _call_unpack(unpack, p[0]) for p in packed)
        if saved is None:
            if "_saved_versions" in self.__dict__ or "inputs" not in self.__dict__:
                raise RuntimeError(f"{type(self).__name__}: saved_tensors was already freed "
                                   "by an earlier backward (pass retain_graph=True)")
            return ()
        for t, v in zip(saved, self._saved_versions):
            if t is not None and t._vc[0] != v:
                _raise_modified(type(self).__name__, t.shape, t._vc[0], v)
        return saved

    def save_for_forward(self, *tensors):
        """PyTorch's: keep tensors for the Function's ``jvp`` (forward mode). xpnn has no
        forward mode (``jvp``/``jacfwd`` go through backward), so ``jvp`` is never called;
        the tensors are only checked and held, and ``saved_tensors`` stays backward's."""
        for t in tensors:
            if t is not None and not isinstance(t, TensorBase):
                raise TypeError("save_for_forward expects all arguments to be tensors; you "
                                "should save non-tensors as attributes on ctx.")
        self._saved_forward = tuple(tensors)

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
    if _gm.inference_seen:  # False until an inference_mode was entered: one global read
        _refuse_inference(cls, [inputs[i] for i in idx])
    versions = [(inputs[i]._vc, inputs[i]._vc[0], inputs[i].shape) for i in idx]
    if cls.saves_output:
        versions += [(o._vc, 0, o.shape) for o in (outs if type(outs) is tuple else (outs,))]
    fn.versions = versions


# -- saved_tensors_hooks (autograd/graph.py) ------------------------------------------------
_APPLY_KEPT = frozenset(("be", "xp", "record", "needs", "inputs", "edges", "versions",
                         "out_meta"))


def _call_pack(tensor):
    """The innermost pack_hook on ``tensor``, with the hooks off while it runs (what it
    computes saves nothing through them)."""
    global _saved_hooks
    hooks, _saved_hooks = _saved_hooks, []
    try:
        return hooks[-1][0](tensor)
    finally:
        _saved_hooks = hooks


def _call_unpack(unpack, packed):
    """``unpack(packed)``, which must give back a Tensor."""
    out = unpack(packed)
    if not isinstance(out, TensorBase):
        raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got "
                        f"result of type {type(out).__name__}")
    return out


def _pack_saved(fn, inputs):
    """Put the arrays an xpnn-style node kept for its backward (its attributes, or the
    arrays in a tuple or list attribute) through the active pack_hook, and drop them; the
    node's backward unpacks them first (:class:`_Unpacking`). An array that is an input's
    is packed as that input tensor, as PyTorch hands pack_hook the saved tensor itself."""
    d = fn.__dict__
    kind = type(inputs[0].array)
    owner = {id(t.array): t for t in inputs}

    def pack(a):
        t = owner.get(id(a))
        return _call_pack(t if t is not None else inputs[0]._result(a, fn.be))

    packed = {}
    for name, v in d.items():
        if name in _APPLY_KEPT:
            continue
        if isinstance(v, kind):
            packed[name] = (None, pack(v))
        elif isinstance(v, (tuple, list)) and any(isinstance(e, kind) for e in v):
            packed[name] = (type(v), [(True, pack(e)) if isinstance(e, kind) else (False, e)
                                      for e in v])
    if not packed:
        return
    for name in packed:
        del d[name]
    d["_packed"] = (_saved_hooks[-1][1], packed)
    d["backward"] = _Unpacking(fn, "backward")
    d["placed_grads"] = False  # backward_placed would read the dropped arrays
    if hasattr(type(fn), "backward_graph"):
        d["backward_graph"] = _Unpacking(fn, "backward_graph")


class _Unpacking:
    """A packed node's ``backward`` (or ``backward_graph``): its arrays back from the
    unpack_hook (once per call, as PyTorch unpacks at each use), then the class's method."""

    def __init__(self, fn, method):
        self.fn, self.method = fn, method

    def __call__(self, *dYs):
        fn = self.fn
        d = fn.__dict__
        unpack, packed = d["_packed"]
        for name, (seq, p) in packed.items():
            if seq is None:
                d[name] = _call_unpack(unpack, p).array
            else:
                d[name] = seq(_call_unpack(unpack, e).array if is_packed else e
                              for is_packed, e in p)
        return getattr(type(fn), self.method)(fn, *dYs)


def _refuse_inference(cls, saved):
    """Raise, as PyTorch, if a recorded op saves an inference tensor for its backward."""
    for t in saved:
        if t is not None and t._inf:
            raise RuntimeError(
                f"{cls.__name__}: Inference tensors cannot be saved for backward. Please do "
                "not use Tensors created in inference mode in computation tracked by "
                "autograd. To work around this, you can make a clone to get a normal tensor "
                "and use it in autograd, or use `torch.no_grad()` instead of "
                "`torch.inference_mode()`.")


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
        if isinstance(o, TensorBase) and id(o) not in skip and be.is_inexact(o.dtype):
            if id(o) in dirty:  # changed in place (mark_dirty): the input itself, rebound
                if o._node is None and o._rg:
                    raise RuntimeError(f"{cls.__name__}: a leaf Variable that requires grad "
                                       "has been used in an in-place operation")
            elif o._node is not None or any(o is t for t in tensors) or o._rg:
                o = o._result(o.array, o._be)  # never re-parent an input or a graph tensor
            o._node, o._idx, o._rg = ctx, i, True
        elif isinstance(o, TensorBase) and o._rg:
            o = o.detach()  # marked non-differentiable but an input or graph tensor: an alias
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

def _mixed(op, inputs):
    seen = sorted({f"{t._be.name}:{t._be.device}" for t in inputs})
    raise TypeError(f"{op}: inputs live on different backends/devices ({' vs '.join(seen)}); "
                    "move them with .to(backend, device) first")
