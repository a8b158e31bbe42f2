"""An optimizer's hooks, as PyTorch's: before and after ``step``, ``state_dict`` and
``load_state_dict``. :func:`_with_hooks` wraps those methods (Optimizer.__init_subclass__
wraps a subclass's own), and :class:`OptimizerHooks`, a base of Optimizer, registers them.
"""
from __future__ import annotations

import functools
from collections import OrderedDict

from ..nn.hooks import RemovableHandle


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


class OptimizerHooks:
    """The ``register_*_hook`` methods of :class:`xpnn.optim.Optimizer`."""

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
