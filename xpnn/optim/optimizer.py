"""Optimizer: parameter groups, per-parameter state, and PyTorch-shaped state dicts.

An optimizer owns ``param_groups`` (dicts holding ``"params"`` and the hyperparameters) and
``state`` (one dict of slots per parameter). As in PyTorch, the slots are Tensors: moments
shaped like the parameter, and the step count (and NAdam's ``mu_product``, ASGD's ``eta``
and ``mu``) as a 0-d Tensor of the scalar dtype (float32, or float64 under a float64
default dtype). Subclasses write ``init_state`` and ``_update_group``, the paper's update of
one group; ``step`` and ``_params_with_grad`` do the part every update shares (closure,
skipping params without a grad, lazy state, maximize, weight decay). The update runs on the
raw backend arrays the slot Tensors hold (``slot.array``, read again every step and written
back when a backend's in-place operator returns a new array), so it records no graph, needs
no ``no_grad``, and sees what a user changed in place (``state["exp_avg"].zero_()``).

The 0-d scalar slots are mirrored on the host (``Optimizer._mirror_of``): the bias
corrections need the step as a Python number, and reading the device value back every step
would stall a GPU. The mirror is trusted while the slot is the same Tensor at the same
version; a slot the user replaced or changed in place is read back once.
"""
from __future__ import annotations

import copy
import functools
import math
from collections import OrderedDict, defaultdict

from .. import backend as B
from ..autograd import enable_grad
from ..nn.hooks import RemovableHandle
from ..tensor import Tensor


def check_hyper(owner, name, value, low=0.0, high=None, high_open=True):
    """Raise, quoting the value, unless ``value`` is a real number in [low, high) (or ]).

    Args:
        owner: the class name used in the message (``"Adam"``).
        name: the hyperparameter's name (``"lr"``, ``"betas[0]"``).
        value: what the user passed.
        low: the smallest allowed value (inclusive).
        high: the bound above, or None for no bound.
        high_open: whether ``high`` itself is excluded.
    Returns:
        float: the value as a Python float (so no NumPy float64 scalar leaks into updates).
    """
    try:
        ok = not isinstance(value, (bool, str))
        v = float(value) if ok else math.nan
    except (TypeError, ValueError, RuntimeError):  # e.g. an array of several values
        ok, v = False, math.nan
    if not ok or not math.isfinite(v) or v < low or high is not None and \
            (v >= high if high_open else v > high):
        span = f"[{low}, {'inf' if high is None else high}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be a number in {span}, got {value!r}")
    return v


def check_flags(owner, foreach=None, capturable=False, differentiable=False, fused=None):
    """Accept torch.optim's implementation switches, so PyTorch calls run unchanged.

    ``foreach``, ``fused`` and ``capturable`` choose among PyTorch's kernels for the same
    update; xpnn has one code path per optimizer, which never reads device values on the
    host (what ``capturable`` asks for), so they change nothing. ``differentiable=True``
    (recording the update in the autograd graph) is not supported and raises.
    """
    del foreach, capturable, fused  # the same arithmetic either way
    if differentiable:
        raise ValueError(f"{owner}: differentiable=True is not supported (xpnn's optimizer "
                         "steps are not recorded by autograd), got differentiable=True")


def check_pair(owner, name, value, low=0.0, high=None):
    """Raise unless ``value`` is a pair of numbers in [low, high); returns two floats."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{owner}: {name} must be a pair of numbers, got {value!r}")
    return (check_hyper(owner, f"{name}[0]", value[0], low, high),
            check_hyper(owner, f"{name}[1]", value[1], low, high))


def add_weight_decay(g, p, weight_decay):
    """``g + weight_decay * p`` as one new array (the gradient itself is never modified)."""
    decayed = p.array * weight_decay
    decayed += g
    return decayed


def slot_tensor(p, arr):
    """``arr`` (an array of ``p``'s backend) as an optimizer slot: a plain Tensor."""
    return Tensor(arr, _be=p._be)


def zeros_like_param(p):
    """A zero slot Tensor with ``p``'s shape, dtype and device."""
    return slot_tensor(p, p.xp.zeros(p.array.shape, dtype=p.array.dtype, device=p._be.device))


def full_like_param(p, value):
    """A slot Tensor with ``p``'s shape, dtype and device, every entry ``value``."""
    return slot_tensor(p, p.xp.full(p.array.shape, float(value), dtype=p.array.dtype,
                                    device=p._be.device))


def scalar_dtype():
    """The dtype of 0-d scalar slots such as ``step``: PyTorch's float32, or float64 when
    the default dtype is float64."""
    return "float64" if B.get_default_dtype() == "float64" else "float32"


def _scalar_home(p):
    """Where ``p``'s 0-d count slots live: ``p``'s backend when its arrays are in host
    memory, else NumPy's (PyTorch's CPU ``step`` beside CUDA parameters)."""
    return p._be if p._be.on_host else B.get_backend("numpy")


def _host_scalar(p, value):
    """``value`` as a 0-d Tensor of :func:`scalar_dtype` in ``p``'s count-slot home."""
    be = _scalar_home(p)
    return Tensor(be.xp.asarray(value, dtype=be.dtype(scalar_dtype()), device=be.device),
                  _be=be)


def _host_number(arr):
    """The value of a one-element array as a Python int (if whole) or float: a host read."""
    number = float(B.to_numpy(arr).reshape(()))
    return int(number) if number.is_integer() else number


def _run_step_hooks(opt, fn, args, kwargs, hooks):
    args = (opt, *args)  # as PyTorch's: the hooks see step's args with the optimizer first
    for hook in list(hooks["step_pre"].values()):
        result = hook(opt, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError(f"{type(opt).__name__}: a step pre-hook must return None "
                                   f"or (args, kwargs), got {type(result).__name__}")
            args, kwargs = result
    out = fn(*args, **kwargs)
    for hook in list(hooks["step_post"].values()):
        hook(opt, args, kwargs)
    return out


def _run_state_dict_hooks(opt, fn, args, kwargs, hooks):
    for hook in list(hooks["state_dict_pre"].values()):
        hook(opt)
    state_dict = fn(opt, *args, **kwargs)
    for hook in list(hooks["state_dict_post"].values()):
        result = hook(opt, state_dict)
        if result is not None:
            state_dict = result
    return state_dict


def _run_load_hooks(opt, fn, args, kwargs, hooks):
    state_dict = args[0] if args else kwargs.pop("state_dict")
    for hook in list(hooks["load_state_dict_pre"].values()):
        result = hook(opt, state_dict)
        if result is not None:
            state_dict = result
    out = fn(opt, state_dict, *args[1:], **kwargs)
    for hook in list(hooks["load_state_dict_post"].values()):
        hook(opt)
    return out


_HOOK_RUNNERS = {"step": _run_step_hooks, "state_dict": _run_state_dict_hooks,
                 "load_state_dict": _run_load_hooks}


def _with_hooks(fn):
    """``fn`` (an optimizer's step, state_dict or load_state_dict) running the hooks
    registered for it; a subclass's method calling its parent's runs them once."""
    name = fn.__name__
    run = _HOOK_RUNNERS[name]

    @functools.wraps(fn)
    def hooked(self, *args, **kwargs):
        hooks = self.__dict__.get("_optimizer_hooks")
        busy = self.__dict__.setdefault("_hooks_running", set())
        if not hooks or name in busy:
            return fn(self, *args, **kwargs)
        busy.add(name)
        try:
            return run(self, fn, args, kwargs, hooks)
        finally:
            busy.discard(name)

    hooked._runs_hooks = True
    return hooked


def _user_slot(p, slot, value):
    """A loaded slot of an optimizer written as in PyTorch (its own ``step`` over
    ``self.state[p]``, which holds Tensors): tensors and arrays become owned Tensor copies on
    ``p``'s backend, floating ones in ``p``'s dtype except ``"step"`` (PyTorch's rule);
    dicts and lists are converted inside; anything else is kept."""
    if isinstance(value, dict):
        return {k: _user_slot(p, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_user_slot(p, slot, v) for v in value)
    arr = value.array if isinstance(value, Tensor) else value
    if not B.is_array(arr):
        return value
    keep = slot == "step" or not B.backend_of(arr).is_floating(arr.dtype)
    return Tensor(p._be.asarray(arr, dtype=B.dtype_name(arr.dtype if keep else p.dtype)))


class Optimizer:
    """Base of every optimizer.

    Args:
        params: an iterable of Parameters (Tensors), or of dicts, each with ``"params"`` and
            hyperparameters that override ``defaults`` for that group.
        defaults: the hyperparameters every group gets unless it sets its own.

    Attributes:
        param_groups: list of dicts, each with ``"params"`` (list of Tensors) and every key of
            ``defaults`` (``"lr"`` included).
        state: {Parameter: {slot name: Tensor}} (a defaultdict), filled by ``init_state``
            the first time a parameter has a gradient.
    """

    _scalar_slots = ()  # slots that hold Python numbers (LBFGS's), not Tensors
    _count_slots = ("step",)  # 0-d Tensor slots the update reads as host numbers

    def __init_subclass__(cls, **kwargs):
        # a subclass's own step/state_dict/load_state_dict runs the registered hooks too, as
        # PyTorch's optimizers (which wrap step the same way)
        super().__init_subclass__(**kwargs)
        for name in _HOOK_RUNNERS:
            fn = cls.__dict__.get(name)
            if callable(fn) and not getattr(fn, "_runs_hooks", False):
                setattr(cls, name, _with_hooks(fn))

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._validate(self.defaults)
        self.state = defaultdict(dict)  # as in PyTorch: state[p] of a stateless p is {}
        self._mirrors = {}  # host values of the 0-d scalar slots (see _mirror_of)
        self.param_groups = []
        if isinstance(params, (Tensor, dict)) or B.is_array(params):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or "
                            f"of dicts, got a single {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):  # Tensors, or (name, Tensor) pairs
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines += [""] if i else []  # PyTorch: an empty line between groups
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # -- groups ---------------------------------------------------------------------
    def _validate(self, group):
        """Check a group's hyperparameters; subclasses raise ValueError quoting the value.
        An optimizer written outside xpnn may have no ``"lr"`` or None there (PyTorch's
        base class checks nothing)."""
        if group.get("lr") is not None:
            check_hyper(type(self).__name__, "lr", group["lr"])

    def add_param_group(self, param_group):
        """Add a group of parameters, filling hyperparameters it leaves out from defaults.

        Args:
            param_group: dict with ``"params"`` (a Tensor or an iterable of Tensors) and
                optional hyperparameters.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got "
                            f"{type(param_group).__name__}")
        params = param_group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)) or params is None:
            raise TypeError(f"{name}: a group's 'params' must be an ordered iterable of "
                            f"Tensors, got {type(params).__name__}")
        params = list(params)
        # PyTorch 2.6+: ``named_parameters()`` (name, Tensor) pairs; the names are kept in
        # the group's "param_names", and every group has names or none does
        named = [isinstance(p, tuple) for p in params]
        names = None
        if any(named):
            if not all(named) or any(len(p) != 2 for p in params):
                raise ValueError(f"{name}: all params of a group must be (name, Tensor) "
                                 "pairs or all Tensors, got a mix")
            names, params = [n for n, _ in params], [p for _, p in params]
        if self.param_groups and ("param_names" in self.param_groups[0]) != \
                (names is not None):
            raise ValueError(f"{name}: all param groups must be with names or all without; "
                             f"the new group is {'with' if names else 'without'} them")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but params[{i}] is a "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (params[{i}] "
                                 f"was computed by {type(p.grad_fn).__name__}); optimize "
                                 "the leaf it came from, or .detach().requires_grad_()")
            if not p.xp.isdtype(p.dtype, "real floating"):
                raise TypeError(f"{name}: params[{i}] has dtype {p.dtype}; only floating "
                                "Tensors can be optimized")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear more than once (in one group "
                             "or in several)")
        group = dict(param_group)
        group["params"] = params
        if names is not None:
            group["param_names"] = names
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate(group)
        self.param_groups.append(group)

    # -- per-step API ---------------------------------------------------------------
    def init_state(self, param, group=None):
        """Create (and store) the zeroed slots of ``param``; subclasses add their slots.

        Args:
            param: one of this optimizer's Parameters.
            group: its param group (found when None).
        Returns:
            dict: the new state of ``param``.
        """
        state = self.state[param] = {}
        return state

    # -- 0-d scalar slots, mirrored on the host -------------------------------------------
    # self._mirrors: {(id(param), slot): [param, the slot's Tensor, its version, host value]}
    # (the param and Tensor held, so neither id is reused while the entry lives)

    def _new_scalar(self, param, state, slot, value):
        """Store ``value`` (a Python number) in ``state[slot]`` as a new 0-d Tensor, in host
        memory (as PyTorch keeps ``step`` on the CPU unless capturable or fused: writing it
        each step launches no device kernel)."""
        t = state[slot] = _host_scalar(param, value)
        self._mirrors[(id(param), slot)] = [param, t, t._vc[0], value]
        return t

    def _mirror_of(self, param, state, slot):
        """The host mirror of the 0-d slot ``state[slot]``: trusted while the slot is the
        Tensor the optimizer last wrote, at the same version; else (replaced, changed in
        place, loaded by hand, or an optimizer restored by pickle) the device value read
        back once, as PyTorch's step reads it every time."""
        entry = self._mirrors.get((id(param), slot))
        t = state[slot]
        if entry is not None and entry[1] is t and entry[2] == t._vc[0]:
            return entry
        if isinstance(t, Tensor):
            value = _host_number(t.array)
        elif B.is_array(t):
            value = _host_number(t)
        else:
            value = t  # a Python number someone put there
        if not (isinstance(t, Tensor) and t._be is _scalar_home(param) and
                tuple(t.shape) == () and B.dtype_name(t.dtype) == scalar_dtype()):
            t = self._new_scalar(param, state, slot, value)
        entry = self._mirrors[(id(param), slot)] = [param, t, t._vc[0], value]
        return entry

    @staticmethod
    def _write(entry, value):
        """Write the Python number ``value`` into the mirrored 0-d slot (the same Tensor, so
        references to it see the change; a host-to-device write, no read)."""
        t = entry[1]
        try:
            t.array[...] = value
        except ValueError:  # a read-only array (NumPy's): copied and rebound first
            t._writable()[...] = value
        entry[3] = value

    def _next_step(self, param, state):
        """Add one to ``state["step"]``; returns the new step as a Python int."""
        entry = self._mirror_of(param, state, "step")
        t = entry[3] + 1
        self._write(entry, t)
        return t

    def __deepcopy__(self, memo):
        """A copy with its own parameters and state (as ``copy.deepcopy`` makes by default),
        whose host mirrors follow the copied parameters (they are keyed by id)."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        new._mirrors = {(id(e[0]), slot): e
                        for (_, slot), e in new.__dict__.get("_mirrors", {}).items()}
        new.__dict__.pop("_on", None)  # keyed by id too: re-checked at the next step
        return new

    def _group_of(self, param):
        for group in self.param_groups:
            if any(p is param for p in group["params"]):
                return group
        raise KeyError(f"{type(self).__name__}: this Tensor is not one of the optimizer's "
                       "parameters")

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (or set it to zeros with ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:  # a fresh array: the old one may be shared with another leaf
                    p.grad = p.xp.zeros(p.array.shape, dtype=p.grad.dtype,
                                        device=p._be.device)

    # -- hooks ----------------------------------------------------------------------
    def _add_hook(self, kind, hook, prepend=False):
        tables = self.__dict__.setdefault("_optimizer_hooks", {
            k: OrderedDict() for k in ("step_pre", "step_post", "state_dict_pre",
                                       "state_dict_post", "load_state_dict_pre",
                                       "load_state_dict_post")})
        table = tables[kind]
        handle = RemovableHandle(table)
        table[handle.id] = hook
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` before each ``step`` (``args`` starts with the
        optimizer, as in PyTorch); returning ``(args, kwargs)`` replaces step's arguments.
        Returns a handle with ``remove()``."""
        return self._add_hook("step_pre", hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` after each ``step``. Returns a handle."""
        return self._add_hook("step_post", hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` before ``state_dict`` builds the dict. Returns a handle."""
        return self._add_hook("state_dict_pre", hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` after ``state_dict``; a dict returned replaces
        it. Returns a handle."""
        return self._add_hook("state_dict_post", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` before ``load_state_dict``; a dict returned is
        loaded instead. Returns a handle."""
        return self._add_hook("load_state_dict_pre", hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` after ``load_state_dict``. Returns a handle."""
        return self._add_hook("load_state_dict_post", hook, prepend)

    @_with_hooks
    def step(self, closure=None):
        """Update every parameter that has a gradient; params whose grad is None are skipped.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.
        Returns:
            the closure's loss, or None.
        """
        loss = self._call_closure(closure)
        for group in self.param_groups:
            self._follow_params(group)
            self._update_group(group)
            for p in group["params"]:  # a graph that saved p now refuses to backward
                if p.grad is not None:
                    p._changed()  # its diagonal views, which hold copies, read it again
        return loss

    def _follow_params(self, group):
        """Each param's state on the param's backend and device: a model moved with
        ``.to()`` after some steps takes its optimizer state along (PyTorch refuses such a
        step; xpnn's failed deep in the backend, mixing the two)."""
        on = self.__dict__.setdefault("_on", {})  # id(param) -> the backend its state is on
        for p in group["params"]:
            if on.get(id(p)) is p._be:
                continue
            slots = self.state.get(p)
            for key, value in (slots or {}).items():
                arr = value.array if isinstance(value, Tensor) else value
                home = _scalar_home(p) if key in self._count_slots else p._be
                if B.is_array(arr) and B.backend_of(arr) is not home:
                    arr = home.asarray(arr, dtype=B.dtype_name(arr.dtype))
                    if isinstance(value, Tensor):  # the same Tensor: references stay valid
                        value.array, value._be = arr, home
                    else:
                        slots[key] = arr
            on[id(p)] = p._be

    def _update_group(self, group):
        """Apply the optimizer's update to the params of one group (subclasses write this,
        usually as a loop over ``_params_with_grad(group)``)."""
        raise NotImplementedError(f"{type(self).__name__} has no step()")

    def _params_with_grad(self, group, with_state=True):
        """Yield ``(param, grad, state)`` for each param of ``group`` whose grad is not None.

        The preamble every update shares, in PyTorch's order: the state is created by
        ``init_state`` on first use, the grad is negated if ``group["maximize"]``, and
        weight decay is applied: decoupled (``p *= 1 - lr * weight_decay``, AdamW) when
        ``group.get("decoupled_weight_decay")``, else L2 (``g + weight_decay * p``, a new
        array). The caller's gradient arrays are never modified.

        Args:
            group: one of ``param_groups``.
            with_state: False yields None for the state and creates none (SGD without
                momentum keeps no state, as in PyTorch).
        Yields:
            (Tensor, backend array shaped like the param, dict or None).
        """
        # Rprop and a few others have no weight decay (and LBFGS no maximize): absent is off
        maximize, wd = group.get("maximize", False), float(group.get("weight_decay", 0.0))
        decay = 1.0 - float(group["lr"]) * wd if group.get("decoupled_weight_decay") else None
        states, state = self.state, None
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.array
            if with_state:
                state = states.get(p)
                if state is None:
                    state = self.init_state(p, group)
            if maximize:
                g = -g
            if wd != 0.0:
                if decay is not None:
                    p.array *= decay
                else:
                    g = add_weight_decay(g, p, wd)
            yield p, g, state

    @staticmethod
    def _call_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- state dicts ----------------------------------------------------------------
    @_with_hooks
    def state_dict(self):
        """The optimizer's state in PyTorch's layout.

        Returns:
            dict: ``{"state": {param index: {slot: Tensor}}, "param_groups":
            [{hyperparameters..., "params": [param indices]}]}``. Indices count the
            parameters across groups in order. The Tensors are the live slots (as in
            PyTorch): save or copy them before stepping again if you need a snapshot.
        """
        index, groups = {}, []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in g["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(slots) for p, slots in self.state.items()
                 if id(p) in index}
        return {"state": state, "param_groups": groups}

    @_with_hooks
    def load_state_dict(self, state_dict):
        """Load a state dict from ``state_dict()`` (of any backend, or from torch.optim).

        Everything is checked and converted first, so an error leaves the optimizer as it
        was. Slots become Tensors copied onto each parameter's backend, device and dtype;
        the step (and the other 0-d scalar slots) a 0-d Tensor of the scalar dtype, whatever
        it was saved as (a Tensor, an array, or the Python int older xpnn saved), read once
        here for the host mirror. Hyperparameters come from the state dict.

        Args:
            state_dict: ``{"state": {...}, "param_groups": [...]}`` as ``state_dict`` makes
                (slots as Tensors, raw arrays or numbers; torch.optim's too).
        Raises:
            ValueError: wrong number of groups or of parameters in a group, an unknown
                parameter index, or a slot whose shape is not the parameter's.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or \
                "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups', got {type(state_dict).__name__}")
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved)} param "
                             f"groups, this optimizer has {len(self.param_groups)}")
        by_index, new_groups = {}, []
        for i, (group, sg) in enumerate(zip(self.param_groups, saved)):
            if len(sg["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: param group {i} has "
                                 f"{len(sg['params'])} params in the state dict but "
                                 f"{len(group['params'])} in the optimizer")
            by_index.update(zip((int(k) for k in sg["params"]), group["params"]))
            new = {k: v for k, v in sg.items() if k != "params"}
            if "param_names" in group:  # a state dict saved without names keeps ours
                new.setdefault("param_names", group["param_names"])
            for key, value in self.defaults.items():
                new.setdefault(key, value)  # e.g. a key an older torch did not save
            self._validate(new)
            new["params"] = group["params"]
            new_groups.append(new)
        new_state, mirrors = defaultdict(dict), {}
        for key, slots in state_dict["state"].items():
            idx = int(key)
            if idx not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for param {idx}, but the "
                                 f"param groups hold indices {sorted(by_index)}")
            p = by_index[idx]
            new_state[p] = {}
            for slot, value in slots.items():
                if slot in self._count_slots and self._runs_own_update():
                    t, number = self._convert_scalar(p, idx, slot, value)
                    mirrors[(id(p), slot)] = [p, t, t._vc[0], number]
                    new_state[p][slot] = t
                else:
                    new_state[p][slot] = self._convert_slot(p, idx, slot, value)
        for group, new in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new)  # in place, so references to a group stay valid
        self.state = new_state
        self._mirrors = mirrors
        self.__dict__.pop("_on", None)  # every slot is where its parameter's state lives now

    def _runs_own_update(self):
        """Whether this optimizer's step is xpnn's (``_update_group``), not a PyTorch-style
        subclass's own ``step`` over Tensors (whose slots load as they were saved)."""
        cls = type(self)
        return not (cls._update_group is Optimizer._update_group and
                    cls._convert_slot is Optimizer._convert_slot)

    def _convert_scalar(self, p, idx, slot, value):
        """A loaded 0-d scalar slot: ``(0-d Tensor on p's backend, its Python value)``."""
        if isinstance(value, Tensor):
            value = value.array
        if B.is_array(value):
            host = B.to_numpy(value)  # load time, not the hot loop: a host read is fine
            if host.size != 1:
                raise ValueError(f"{type(self).__name__}.load_state_dict: slot {slot!r} of "
                                 f"param {idx} must be a number, got shape {host.shape}")
            value = _host_number(host)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: slot {slot!r} of param "
                             f"{idx} must be a number, got {type(value).__name__}")
        return _host_scalar(p, value), value

    def _convert_slot(self, p, idx, slot, value):
        """One loaded slot on ``p``'s backend: a Python number (``_scalar_slots``), or an
        owned Tensor copy in ``p``'s dtype."""
        if not self._runs_own_update():
            return _user_slot(p, slot, value)  # a PyTorch-style subclass with its own step
        if isinstance(value, Tensor):
            value = value.array
        if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if slot in self._scalar_slots:
            host = B.to_numpy(value)  # load time, not the hot loop: a host read is fine
            if host.size != 1:
                raise ValueError(f"{type(self).__name__}.load_state_dict: slot {slot!r} of "
                                 f"param {idx} must be a number, got shape {host.shape}")
            number = float(host.reshape(()))
            return int(number) if number.is_integer() else number
        if tuple(value.shape) != p.shape:
            raise ValueError(f"{type(self).__name__}.load_state_dict: slot {slot!r} of param "
                             f"{idx} has shape {tuple(value.shape)} but the param has shape "
                             f"{p.shape}")
        # Backend.asarray always copies: stepping updates slots in place, and the caller's
        # arrays (or another optimizer's live slots) must not change with them
        return slot_tensor(p, p._be.asarray(value, dtype=p.dtype))
