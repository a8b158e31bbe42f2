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

The state dict (optimizer_state.py) and the hooks (optimizer_hooks.py) are bases of
Optimizer; the checks and slot helpers that every optimizer imports are in slots.py (and
importable from here, as before).
"""
from __future__ import annotations

import contextlib
import copy
from collections import defaultdict

from .. import backend as B
from ..autograd import enable_grad
from ..tensor import Tensor
from .optimizer_hooks import _HOOK_RUNNERS, OptimizerHooks, _with_hooks
from .optimizer_state import OptimizerStateDict
from .slots import (_host_number, _host_scalar, _scalar_home, add_weight_decay,  # noqa: F401
                    check_flags, check_hyper, check_pair, full_like_param, scalar_dtype,
                    slot_tensor, zeros_like_param)


def _quiet(group):
    """The backend's quiet context (no NumPy floating-point warnings) for a group's update,
    taken from its first parameter."""
    params = group["params"]
    return params[0]._be.quiet() if params else contextlib.nullcontext()


class Optimizer(OptimizerHooks, OptimizerStateDict):
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
    _complex_params = False  # True where the update is right for complex parameters too
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
            if p._be.is_complex(p.dtype):
                if self._complex_params:
                    continue
                raise TypeError(f"{name}: params[{i}] has dtype {p.dtype}; xpnn's {name} "
                                "takes real parameters (SGD, Adam and AdamW take complex "
                                "ones; or keep a real (..., 2) weight and use "
                                "view_as_complex on it)")
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
                elif p.grad.is_sparse:  # no entries left, still sparse (torch's zero_())
                    p.grad.zero_()
                else:  # in place, as torch's: a reference kept to p.grad sees the zeros
                    p.grad._assign(p.xp.zeros(p.array.shape, dtype=p.grad.dtype,
                                              device=p._be.device))
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
            if group.get("differentiable"):
                self._refuse_differentiable(group)
            self._follow_params(group)
            with _quiet(group):  # a NaN or inf gradient: NaN/inf state, silently as torch
                self._update_group(group)
            for p in group["params"]:  # a graph that saved p now refuses to backward
                if p.grad is not None:
                    p._changed()  # its diagonal views, which hold copies, read it again
        return loss

    def _refuse_differentiable(self, group):
        """``differentiable=True`` asks for the update recorded by autograd, which xpnn's
        steps never are: raise PyTorch's error where its step fails too (a parameter that
        requires grad, changed in place), and say so where a recorded gradient would make
        PyTorch's result differ; a step with nothing to record runs as usual."""
        name = type(self).__name__
        for i, p in enumerate(group["params"]):
            if p.grad is None:
                continue
            if p.requires_grad:
                raise RuntimeError(f"{name}.step with differentiable=True: a leaf Variable "
                                   "that requires grad is being used in an in-place "
                                   f"operation (params[{i}], shape {tuple(p.shape)})")
            if p.grad.requires_grad:
                raise NotImplementedError(f"{name}.step: differentiable=True with a gradient "
                                          f"that requires grad (params[{i}]): xpnn does not "
                                          "record optimizer updates in the autograd graph")

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
            try:
                g = p.grad.array
            except AttributeError:  # a sparse COO .grad (Embedding(sparse=True))
                self._sparse_step(p, group)
                continue
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

    _sparse_refusal = None  # torch's message where it is not "<Name> does not support ..."

    def _sparse_step(self, p, group):
        """Update ``p`` from its sparse ``.grad`` (SGD and Adagrad override this); the other
        optimizers refuse, with torch's RuntimeError."""
        raise RuntimeError(self._sparse_refusal or
                           f"{type(self).__name__} does not support sparse gradients")

    @staticmethod
    def _call_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _runs_own_update(self):
        """Whether this optimizer's step is xpnn's (``_update_group``), not a PyTorch-style
        subclass's own ``step`` over Tensors (whose slots load as they were saved)."""
        cls = type(self)
        return not (cls._update_group is Optimizer._update_group and
                    cls._convert_slot is Optimizer._convert_slot)
