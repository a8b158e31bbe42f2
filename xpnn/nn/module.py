"""Module and Parameter, and the containers Sequential, ModuleList and Identity.

A Module holds Parameters, buffers and sub-Modules (PyTorch's ``torch.nn.Module``: the same
methods, traversal order, state_dict names, hooks and repr). ``Module.__new__`` records the
arguments each module was constructed with, its *recipe*: ``xpnn.save(model, f)`` stores the
recipes and the module tree instead of pickling the object (see xpnn/io/recipe.py).
"""
from __future__ import annotations

import contextlib
import copy
import threading
import weakref
from collections import OrderedDict, namedtuple

from .. import backend as B
from ..autograd import TensorBase, is_grad_enabled, no_grad
from ..tensor import Tensor
from .buffer import Buffer
from .hooks import BackwardHookCall, RemovableHandle


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns (PyTorch's ``_IncompatibleKeys``)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "  # PyTorch's text
                f"unexpected_keys={self.unexpected_keys!r})")

    __str__ = __repr__


class StateDictKeyError(KeyError, RuntimeError):
    """Missing or unexpected keys in ``load_state_dict(strict=True)``; a RuntimeError as in
    PyTorch and a KeyError as xpnn raised before."""

    __str__ = BaseException.__str__  # KeyError would quote the message


class StateDictShapeError(ValueError, RuntimeError):
    """A state dict entry whose shape is not the module's (RuntimeError in PyTorch)."""


class StateDictTypeError(TypeError, RuntimeError):
    """A state dict entry that is not a tensor or an array (RuntimeError in PyTorch)."""


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:  # PyTorch: Parameter() is an empty float tensor
            be = B.default_backend()
            data = be.xp.empty((0,), dtype=be.dtype(B.get_default_dtype()), device=be.device)
        if isinstance(data, Tensor):
            data = data.array
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        """A copy without the gradient, as PyTorch's Parameter (so ``copy.deepcopy(model)``
        starts with no gradients; a plain Tensor's copy keeps its own)."""
        grad, self._grad = self._grad, None
        try:
            return super().__deepcopy__(memo)
        finally:
            self._grad = grad


class ArgModule:
    """A Module given to a constructor, as the recipe keeps it: a weak reference, plus the
    class and recipe it was made with for when it is gone (TransformerEncoder copies its
    ``encoder_layer`` and drops it; saving rebuilds such a template from its own recipe)."""

    __slots__ = ("ref", "cls", "recipe")

    def __init__(self, module, cls=None, recipe=None):
        self.ref = lambda: None
        self.cls, self.recipe = cls, recipe
        if module is not None:
            self.ref = weakref.ref(module)
            self.cls, self.recipe = type(module), module.__dict__.get("_recipe", ((), {}))

    def __call__(self):
        return self.ref()

    def __deepcopy__(self, memo):
        # a copied model's recipe refers to the copied modules (the copy is memoized, so
        # the children copied later are these same objects)
        m = self.ref()
        return self if m is None else ArgModule(copy.deepcopy(m, memo))

    def __reduce__(self):
        m = self.ref()
        return (ArgModule, (m,) if m is not None else (None, self.cls, self.recipe))


def _recipe_value(v):
    if isinstance(v, Module):
        return ArgModule(v)
    if type(v) in (list, tuple):
        return type(v)(_recipe_value(x) for x in v)
    if type(v) in (dict, OrderedDict):
        return type(v)((k, _recipe_value(x)) for k, x in v.items())
    return v


def _check_name(owner, kind, name, exists):
    """PyTorch's checks on a parameter/buffer/submodule name."""
    if not isinstance(name, str):
        raise TypeError(f"{owner}: {kind} name should be a string, got {type(name).__name__}")
    if "." in name:
        raise KeyError(f"{owner}: {kind} name can't contain \".\", got {name!r}")
    if name == "":
        raise KeyError(f"{owner}: {kind} name can't be empty string \"\"")
    if exists:
        raise KeyError(f"{owner}: attribute {name!r} already exists")


def _hooked(module):
    """Whether ``module`` has forward or backward hooks of its own."""
    d = module.__dict__
    return bool(d.get("_forward_pre_hooks") or d.get("_forward_hooks") or
                d.get("_backward_hooks") or d.get("_backward_pre_hooks"))


class Module:
    """Base of every layer: holds Parameters, buffers and sub-Modules; stores no activations.

    Assigning a Parameter or Module to an attribute registers it. ``forward`` does the work;
    calling the module runs the forward pre-hooks, ``forward`` (raw backend arrays given as
    arguments are wrapped as Tensors) and the forward hooks.
    """

    # Sequential's one reordering (see there): ReLU sets the first, max pooling without
    # indices the second
    _max_pool_commutes = False
    _max_pool_plain = False
    _optional_state = ()  # state_dict keys that load_state_dict may find absent (BatchNorm)

    def __new__(cls, *args, **kwargs):
        # the recipe: Python passes the constructor's arguments to __new__ as to __init__;
        # no subclass has to cooperate (copy.deepcopy calls __new__ bare, then copies it).
        # Lists, tuples and dicts are copied as the constructor got them; Modules among them
        # are held weakly (ArgModule), so a template layer is not kept alive by the recipe
        self = super().__new__(cls)
        object.__setattr__(self, "_recipe", (tuple(_recipe_value(a) for a in args),
                                             {k: _recipe_value(v) for k, v in kwargs.items()}))
        return self

    def __init__(self):
        put = object.__setattr__
        for name in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks",
                     "_forward_hooks", "_backward_pre_hooks", "_backward_hooks"):
            put(self, name, OrderedDict())
        put(self, "_non_persistent", set())
        put(self, "_hook_flags", {})  # hook id -> (with_kwargs, always_call)
        put(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):  # plain attributes may come first
                raise AttributeError(f"{type(self).__name__}: call super().__init__() "
                                     f"before assigning the {type(value).__name__} {name!r}")
            object.__setattr__(self, name, value)
            return
        params, mods, bufs = self._parameters, self._modules, self._buffers
        if isinstance(value, Module) and name in params:
            raise TypeError(f"{type(self).__name__}.{name} is a Parameter; cannot assign a "
                            f"{type(value).__name__} to it (xpnn.nn.Parameter or None "
                            "expected)")
        if isinstance(value, Parameter):
            if name not in params and isinstance(getattr(type(self), name, None), property):
                # a parametrized tensor (nn.utils.parametrize) or another property: PyTorch's
                # register_parameter refuses a name the class already answers
                raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists")
            mods.pop(name, None), bufs.pop(name, None)
            self._non_persistent.discard(name)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None), bufs.pop(name, None)
            self._non_persistent.discard(name)
            mods[name] = value
        elif isinstance(value, Buffer):  # nn.Buffer: registered with its own persistence
            self.register_buffer(name, value, persistent=value.persistent)
            return
        elif name in bufs:
            if value is not None and not isinstance(value, Tensor):
                if not B.is_array(value):
                    raise TypeError(f"cannot assign {type(value).__name__!r} as buffer "
                                    f"{name!r} (Tensor, array or None expected)")
                value = Tensor(value)
            bufs[name] = value
        elif name in params or name in mods:
            if value is not None:
                kind = "Parameter" if name in params else "Module"
                raise TypeError(f"{type(self).__name__}.{name} is a {kind}; cannot assign a "
                                f"{type(value).__name__} to it (xpnn.nn.{kind} or None "
                                "expected)")
            (params if name in params else mods)[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        self.__dict__.get("_non_persistent", set()).discard(name)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not trained (BatchNorm's running mean): in
        ``state_dict`` unless ``persistent=False``; a backend array is wrapped as a Tensor."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(f"{type(self).__name__}.register_buffer", "buffer", name,
                    hasattr(self, name) and name not in self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            if not B.is_array(tensor):
                raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__!r} "
                                f"object to buffer {name!r} (Tensor, array or None required)")
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """Add a Parameter (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(f"{type(self).__name__}.register_parameter", "parameter", name,
                    hasattr(self, name) and name not in self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign {type(param).__name__!r} "
                            f"object to parameter {name!r} (xpnn.nn.Parameter or None "
                            "required)")
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        """Add a child Module (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        _check_name(f"{type(self).__name__}.add_module", "module", name,
                    hasattr(self, name) and name not in self._modules)
        if module is None:
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    # -- calling and hooks ------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        args = tuple(Tensor(a) if B.is_array(a) else a for a in args)
        if _hooked(self):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        flags = self._hook_flags
        for hid, hook in list(self._forward_pre_hooks.items()):
            if flags.get(hid, (False, False))[0]:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("forward pre-hook registered with with_kwargs=True "
                                           "must return None or (new_args, new_kwargs), got "
                                           f"{type(res).__name__}")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            bw = BackwardHookCall(self)
            args = bw.wrap_inputs(args)
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            for hid, hook in list(self._forward_hooks.items()):
                with_kwargs, always = flags.get(hid, (False, False))
                if always:
                    try:
                        hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
                    except Exception:  # noqa: BLE001 - the forward's own error is what matters
                        pass
            raise
        for hid, hook in list(self._forward_hooks.items()):
            with_kwargs = flags.get(hid, (False, False))[0]
            res = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
            if res is not None:
                out = res
        return out if bw is None else bw.wrap_outputs(out)

    def _add_hook(self, table, hook, prepend, with_kwargs=False, always_call=False):
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a hook must be callable, got "
                            f"{type(hook).__name__}")
        handle = RemovableHandle(table, self._hook_flags)
        table[handle.id] = hook
        self._hook_flags[handle.id] = (bool(with_kwargs), bool(always_call))
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` before forward; returning a value (a tuple, or one object
        taken as a 1-tuple) replaces the positional inputs. With ``with_kwargs=True``:
        ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``.
        Returns a handle with ``remove()``."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` after forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs=True``); returning a value replaces the output.
        ``always_call=True`` calls it (with output None) when forward raises too."""
        return self._add_hook(self._forward_hooks, hook, prepend, with_kwargs, always_call)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` when the gradients w.r.t. the module's outputs are
        known; returning a tuple replaces them."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` once the gradients w.r.t. the module's
        positional inputs are computed (None for inputs that are not Tensors requiring grad);
        returning a tuple (one entry per positional input) replaces ``grad_input``.

        As in PyTorch the module's tensor inputs and outputs pass through an identity node
        per call, whose backward runs the hooks with all the gradients at once.
        """
        return self._add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook):
        raise NotImplementedError("Module.register_backward_hook (deprecated in PyTorch, "
                                  "whose results depend on the last op of forward) is not "
                                  "supported; use register_full_backward_hook")

    # -- traversal --------------------------------------------------------------------
    def named_children(self):
        """(name, child) for each direct child, each module once, None skipped."""
        memo = set()
        for name, m in self._modules.items():
            if m is not None and m not in memo:
                memo.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted path, module) for this module and every descendant, depth first; a module
        reachable twice is listed once unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, t in getattr(mod, registry).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs; a Parameter shared by two modules comes once
        unless ``remove_duplicate=False``."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer) pairs, non-persistent buffers included."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state ------------------------------------------------------------------------
    def _state_slots(self, prefix=""):
        """(key, owner module, attribute name, is_param) in PyTorch's state_dict order; a
        module reachable under two paths contributes under both (as in PyTorch)."""
        skip = self.__dict__.get("_non_persistent", ())
        slots = [(prefix + n, self, n, True) for n, p in self._parameters.items()
                 if p is not None]
        slots += [(prefix + n, self, n, False) for n, b in self._buffers.items()
                  if b is not None and n not in skip]
        for name, child in self._modules.items():
            if child is not None:
                slots += child._state_slots(f"{prefix}{name}.")
        return slots

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """{dotted name: Tensor}: parameters and persistent buffers, PyTorch's names, order
        and layouts.

        As in PyTorch the tensors share the module's arrays (detached from the graph;
        ``keep_vars=True`` gives the Parameters and buffers themselves), and each module's
        state-dict pre-hooks run before its entries are added, its post-hooks after its
        children's.
        """
        out = OrderedDict() if destination is None else destination
        return self._save_state(out, prefix, keep_vars)

    def _save_state(self, out, prefix, keep_vars):
        d = self.__dict__
        for hook in d.get("_state_dict_pre_hooks", {}).values():
            hook(self, prefix, keep_vars)
        skip = d.get("_non_persistent", ())
        names = [n for n, p in self._parameters.items() if p is not None]
        names += [n for n, b in self._buffers.items() if b is not None and n not in skip]
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, Tensor):
                value = Tensor(value)
            out[prefix + name] = value if keep_vars else value.detach()
        for name, child in self._modules.items():
            if child is not None:  # a child's hook replacing the dict is not seen (PyTorch)
                child._save_state(out, f"{prefix}{name}.", keep_vars)
        for hook, public in d.get("_state_dict_hooks", {}).values():
            result = hook(self, out, prefix, {"version": 1})
            if result is not None:
                if public:
                    raise RuntimeError(f"{type(self).__name__}: a state_dict post-hook must "
                                       f"return None (change the dict in place), got "
                                       f"{type(result).__name__}")
                out = result  # the private _register_state_dict_hook may replace it
        return out

    def _add_state_hook(self, table, entry):
        handle = RemovableHandle(self.__dict__.setdefault(table, OrderedDict()))
        handle._tables[0][handle.id] = entry
        return handle

    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)`` before ``state_dict`` adds this module's
        entries. Returns a handle with ``remove()``."""
        return self._add_state_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)`` once ``state_dict`` added
        this module's and its children's entries; it changes the dict in place and returns
        None. Returns a handle with ``remove()``."""
        return self._add_state_hook("_state_dict_hooks", (hook, True))

    def _register_state_dict_hook(self, hook):
        """As :meth:`register_state_dict_post_hook`, but a dict returned replaces the
        state dict (PyTorch's private form, used by libraries)."""
        return self._add_state_hook("_state_dict_hooks", (hook, False))

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` reads the keys; it may
        rename or add entries of ``state_dict`` (a copy of the caller's), and appending to
        ``error_msgs`` makes the load raise. Returns a handle with ``remove()``."""
        return self._add_state_hook("_load_state_dict_pre_hooks", (hook, True))

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """As :meth:`register_load_state_dict_pre_hook`, the module left out of the
        hook's arguments unless ``with_module=True`` (PyTorch's private form)."""
        return self._add_state_hook("_load_state_dict_pre_hooks", (hook, bool(with_module)))

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys)`` after ``load_state_dict`` loaded the values;
        removing entries from ``incompatible_keys.missing_keys`` / ``.unexpected_keys`` (in
        place) spares a ``strict`` load the error. Returns a handle with ``remove()``."""
        return self._add_state_hook("_load_state_dict_post_hooks", hook)

    def _post_order(self):
        """Every module (under each of its paths), children before their parent."""
        for child in self._modules.values():
            if child is not None:
                yield from child._post_order()
        yield self

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy tensors (or arrays of any backend, NumPy included) into this module's
        parameters and buffers.

        Args:
            state_dict: {dotted name: Tensor or array}, as ``state_dict()`` gives.
            strict: the keys must match exactly (else StateDictKeyError, a KeyError and
                RuntimeError).
            assign: take each value's array itself (its backend, device and dtype) instead
                of copying the values into the module's arrays; the Parameter objects stay
                (optimizers holding them see the new arrays).
        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Everything is checked and converted before anything is assigned, so an error
        (missing, unexpected or mis-shaped key) leaves the module unchanged, unless a
        module has load_state_dict post-hooks: then, as in PyTorch, the matching keys are
        loaded and the hooks run before a ``strict`` load raises.
        """
        pre = [(path, mod) for path, mod in self.named_modules(remove_duplicate=False)
               if mod.__dict__.get("_load_state_dict_pre_hooks")]
        missing0, unexpected0, errors = [], [], []  # what pre-hooks report
        if pre:
            state_dict = OrderedDict(state_dict)  # the hooks edit a copy, as in PyTorch
            for path, mod in pre:
                args = (state_dict, f"{path}." if path else "", {}, strict, missing0,
                        unexpected0, errors)
                for hook, with_module in list(mod._load_state_dict_pre_hooks.values()):
                    hook(mod, *args) if with_module else hook(*args)
            if errors:
                raise RuntimeError(f"Error(s) in loading state_dict for "
                                   f"{type(self).__name__}:\n\t" + "\n\t".join(errors))
        post = [m for m in self._post_order() if m.__dict__.get("_load_state_dict_post_hooks")]
        for path, mod in self.named_modules():  # lazy modules take the shapes loaded
            lazy_load = getattr(mod, "_lazy_load_hook", None)
            if lazy_load is not None:
                lazy_load(state_dict, f"{path}." if path else "")
        slots = {key: (mod, name) for key, mod, name, _ in self._state_slots()}
        # a buffer that older checkpoints lack (BatchNorm's num_batches_tracked) keeps its
        # value when absent, as in PyTorch
        missing = missing0 + [k for k in slots if k not in state_dict and
                              slots[k][1] not in type(slots[k][0])._optional_state]
        unexpected = unexpected0 + [k for k in state_dict if k not in slots]
        if strict and (missing or unexpected) and not post:
            raise StateDictKeyError(f"load_state_dict into {type(self).__name__}: missing "
                                    f"keys {missing}, unexpected keys {unexpected}")
        staged = []
        for key, value in state_dict.items():
            if key not in slots:
                continue
            mod, name = slots[key]
            current = getattr(mod, name)
            if getattr(type(value), "_lazy_placeholder", False):  # an uninitialized one
                if getattr(type(current), "_lazy_placeholder", False):
                    continue  # stays uninitialized, as in PyTorch
                raise StateDictShapeError(f"load_state_dict: key {key!r} is uninitialized "
                                          "(a lazy module's placeholder) in the state dict "
                                          f"but has shape {tuple(current.shape)} in the model")
            value = value.array if isinstance(value, TensorBase) else value
            if not B.is_array(value):
                raise StateDictTypeError(f"load_state_dict: key {key!r} is a "
                                         f"{type(value).__name__}, not a Tensor or an array")
            if tuple(value.shape) != tuple(current.shape):
                raise StateDictShapeError(f"load_state_dict: key {key!r} has shape "
                                          f"{tuple(value.shape)} in the state dict but "
                                          f"{tuple(current.shape)} in the model")
            if assign:
                staged.append((current, value))
                continue
            be = current._be
            arr = be.asarray(value, dtype=current.dtype)
            # asarray may alias the caller's array (NumPy, torch from NumPy): optimizers
            # update parameters in place, so the module must own its copy
            staged.append((current, be.xp.asarray(arr, copy=True)))
        for current, arr in staged:
            if assign:
                be = B.backend_of(arr)
                if be is not current._be or arr.dtype != current.array.dtype:
                    current._grad = None  # a gradient of another dtype/device no longer fits
                current.array, current._be = arr, be
                current._bump()
            else:
                current._assign(arr)
        result = IncompatibleKeys(missing, unexpected)
        for mod in post:
            for hook in list(mod._load_state_dict_post_hooks.values()):
                if hook(mod, result) is not None:
                    raise AssertionError(f"{type(mod).__name__}: a load_state_dict "
                                         "post-hook must return None (change "
                                         "incompatible_keys in place)")
        if post and strict and (missing or unexpected):
            raise StateDictKeyError(f"load_state_dict into {type(self).__name__}: missing "
                                    f"keys {missing}, unexpected keys {unexpected}")
        return result

    # -- mode, device, dtype, gradients -------------------------------------------------
    def train(self, mode=True):
        """Set training mode here and (through their own ``train``) in every child."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: training mode is expected to be "
                             f"boolean, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def compile(self, *args, **kwargs):
        """PyTorch's in-place ``Module.compile``: checks the options of
        :func:`xpnn.compile` and changes nothing (xpnn has no compiler); returns None."""
        from .._compile import compile
        compile(self, *args, **kwargs)

    def to(self, *args, **kwargs):
        """Move parameters and buffers to a device/backend and/or cast floating ones to a
        dtype, in place; returns the module. The forms of ``Tensor.to``: ``to("cuda")``,
        ``to("torch")``, ``to(xpnn.float64)``, ``to(backend=, device=, dtype=)``.
        Gradients move along."""
        for t, be, dtype, set_to in self._each_tensor(args, kwargs):
            if dtype is not None and not be.is_floating(be.dtype(dtype)):  # before a change
                raise TypeError(f"Module.to only accepts floating point dtypes, got "
                                f"{B.dtype_name(be.dtype(dtype))} (PyTorch's rule: integer "
                                "weights could not be trained)")
            if getattr(type(t), "_lazy_placeholder", False):  # nn/parameter.py: no values
                t._retarget(be, dtype)
                continue
            floating = B.backend_of(t.array).is_floating(t.array.dtype)
            arr = _move(t.array, be, dtype if floating else None)
            if arr is not t.array:
                set_to(arr, be)
        return self

    def _each_tensor(self, args, kwargs):
        """(tensor, target backend, dtype, setter) for every parameter and buffer."""
        for mod in self.modules():
            for name, p in mod._parameters.items():
                if p is not None:
                    be, dtype = B.resolve_to(p._be, args, kwargs, "Module.to")
                    yield p, be, dtype, _param_setter(p)
            for name, buf in list(mod._buffers.items()):
                if buf is not None:
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
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on this one."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def get_submodule(self, target):
        """The submodule at a dotted path ("encoder.layers.0"); "" is this module."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if not isinstance(mod.__dict__.get(part), Module):
                if part in mod._modules or not hasattr(mod, part):
                    raise AttributeError(f"{mod._get_name()} has no attribute `{part}` "
                                         f"(looking for submodule {target!r})")
                raise AttributeError(f"`{part}` is not an nn.Module")
            mod = mod.__dict__[part]
        return mod

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._parameters or mod._parameters[name] is None:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]

    def get_buffer(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers or mod._buffers[name] is None:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # -- repr -------------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside the parentheses of this module's repr (override to show the
        constructor's settings, as torch.nn layers do)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = ["(" + name + "): " + repr(m).replace("\n", "\n  ")
                       for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"


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


class _Numbered(Module):
    """What Sequential and ModuleList share: children named "0", "1", ... in order, set,
    deleted (renumbering, as PyTorch), popped, counted and iterated by position."""

    def __setitem__(self, i, module):
        name = list(self._modules)[_index(type(self).__name__, i, len(self))]
        setattr(self, name, _checked(type(self).__name__, module))

    def __delitem__(self, i):
        mods = list(self._modules.values())
        del mods[i if isinstance(i, slice) else _index(type(self).__name__, i, len(mods))]
        _renumber(self, mods)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def pop(self, i=-1):
        module = self[i]
        del self[i]
        return module


class Sequential(_Numbered):
    """Modules applied in order; indexable, iterable, and named "0", "1", ... as in PyTorch.

    One reordering, which changes no value: a ReLU followed by a max pooling (the usual
    conv, ReLU, pool block) runs as the pooling, then the ReLU, so the ReLU and its gradient
    touch a quarter of the elements (2x2 pools). max(relu(x)) == relu(max(x)) exactly, and
    the gradient reaches the same input element: the window's first maximum when it is
    positive, nothing otherwise (relu' = 0 there either way). Not done when either module
    has hooks (they would see other tensors) or the pooling returns indices.
    """

    # its constructor's arguments are its children: xpnn.load rebuilds it empty and adds the
    # saved children (see xpnn/io/recipe.py), so ``Sequential(*generator)`` saves too
    _recipe_from_tree = True

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            modules = list(modules[0].items())
        else:
            modules = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {name} is a {type(m).__name__}, not a "
                                "Module")
            setattr(self, name, m)

    def forward(self, x):
        mods = list(self._modules.values())
        i, n = 0, len(mods)
        while i < n:
            m = mods[i]
            if i + 1 < n and m._max_pool_commutes and mods[i + 1]._max_pool_plain and \
                    not _hooked(m) and not _hooked(mods[i + 1]):
                x = m(mods[i + 1](x))  # ReLU, MaxPool run as MaxPool, ReLU: see the class
                i += 2
                continue
            x = m(x)
            i += 1
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):  # the children keep their names (and state_dict keys)
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[_index("Sequential", i, len(self))]

    def __add__(self, other):
        if not isinstance(other, Sequential):
            return NotImplemented
        return Sequential(*self, *other)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            return NotImplemented
        return self.extend(list(other))

    def __mul__(self, n):
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"Sequential: can only be multiplied by an int > 0, got {n!r}")
        return Sequential(*(list(self) * n))

    __rmul__ = __mul__

    def append(self, module):
        setattr(self, str(len(self)), _checked("Sequential", module))
        return self

    def extend(self, modules):
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for "
                             f"{n} modules")
        mods.insert(index % (n + 1) if index < 0 else index, _checked("Sequential", module))
        _renumber(self, mods)
        return self

class ModuleList(_Numbered):
    """A list of Modules whose parameters are registered (named "0", "1", ...)."""

    _recipe_from_tree = True  # as Sequential's

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def __repr__(self):
        """As PyTorch's: a run of neighbours that print alike is one line, "(0-2): 3 x ..."."""
        runs = []  # [first, last, text]
        for name, m in self._modules.items():
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = name
            else:
                runs.append([name, name, text])
        if not runs:
            return self._get_name() + "()"
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {int(b) - int(a) + 1} x ") +
                 text.replace("\n", "\n  ") for a, b, text in runs]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: cannot append a {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules):
        for m in list(modules):
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else \
            mods[_index("ModuleList", i, len(mods))]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, _checked("ModuleList", module))
        _renumber(self, mods)


def _index(container, i, n):
    """``i`` (an int, negatives from the end) checked against ``n`` items."""
    if isinstance(i, bool) or not isinstance(i, int):
        raise TypeError(f"{container}: indices must be ints or slices, got {type(i).__name__}")
    if not -n <= i < n:
        raise IndexError(f"{container}: index {i} is out of range for {n} modules")
    return i % n


def _checked(container, module):
    if not isinstance(module, Module):
        raise TypeError(f"{container}: expected a Module, got {type(module).__name__}")
    return module


def _renumber(container, modules):
    """Make ``modules`` the container's children, named "0", "1", ... in order."""
    for name in list(container._modules):
        delattr(container, name)
    for i, m in enumerate(modules):
        setattr(container, str(i), m)


class Identity(Module):
    """Returns its input unchanged."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


_rebuild = threading.local()


@contextlib.contextmanager
def rebuild_on(be):
    """Within the block, :func:`placement` puts every new layer's parameters on Backend
    ``be`` whatever its ``backend=``/``device=`` arguments say: ``xpnn.load`` rebuilds a
    saved module where its weights are about to go (a CUDA model loads on a CPU-only host,
    with no copy through another device)."""
    prev = getattr(_rebuild, "be", None)
    _rebuild.be = be
    try:
        yield be
    finally:
        _rebuild.be = prev


def placement(backend=None, device=None, dtype=None):
    """(Backend, floating dtype) for a layer's ``backend=``/``device=``/``dtype=`` arguments:
    the default backend and dtype unless given; ``device`` alone ("cuda") is read as in
    ``Module.to``. Inside :func:`rebuild_on` the backend is the one given there."""
    forced = getattr(_rebuild, "be", None)
    if forced is not None:
        be = forced
    elif backend is not None or device is None:
        be = B.get_backend(backend, device)
    else:
        be = B.resolve_device(B.default_backend(), device)
    return be, be.dtype(B.dtype_name(dtype) if dtype is not None else B.get_default_dtype())


def new_parameter(shape, backend=None, device=None, dtype=None):
    """A zero Parameter of ``shape`` on a backend (default: the default backend and dtype)."""
    be, dt = placement(backend, device, dtype)
    if not be.xp.isdtype(dt, "real floating"):
        raise TypeError(f"parameters must be floating point, got dtype {dtype!r}")
    return Parameter(be.xp.zeros(shape, dtype=dt, device=be.device))


def as_input(x, like=None):
    """A layer's input as a Tensor: Tensors pass, backend arrays are wrapped (as
    ``Module.__call__`` does), other data is refused naming the layer."""
    if isinstance(x, Tensor) or x is None:
        return x
    if B.is_array(x):
        return Tensor(x)
    raise TypeError(f"expected a Tensor or a backend array, got {type(x).__name__}")


def check_int(layer, arg, value, minimum=1):
    """Raise at construction, quoting the value, unless ``value`` is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{layer}: {arg} must be an int >= {minimum}, got {value!r}")
    return value
