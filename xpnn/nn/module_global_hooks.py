"""Forward hooks for every Module at once (PyTorch's ``torch.nn.modules.module.
register_module_forward_pre_hook`` / ``register_module_forward_hook``): a debugging and
profiling tool. ``Module.__call__`` runs them before each module's own hooks, as PyTorch.

Global backward hooks and the registration hooks are not implemented.
"""
from __future__ import annotations

from collections import OrderedDict

from .hooks import RemovableHandle

FORWARD_PRE = OrderedDict()  # hook id -> hook(module, args)
FORWARD = OrderedDict()      # hook id -> hook(module, args, output)
FLAGS = {}                   # hook id -> (with_kwargs, always_call), for FORWARD


def _register(table, hook, with_kwargs=False, always_call=False):
    if not callable(hook):
        raise TypeError(f"a global module hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(table, FLAGS)
    table[handle.id] = hook
    FLAGS[handle.id] = (bool(with_kwargs), bool(always_call))
    return handle


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward (and before its own pre-hooks);
    a value returned replaces the positional inputs. Returns a handle with ``remove()``."""
    return _register(FORWARD_PRE, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
    ``with_kwargs``) after every module's forward, before its own forward hooks; a value
    returned replaces the output; ``always_call`` runs it when forward raises too.
    Returns a handle with ``remove()``."""
    return _register(FORWARD, hook, with_kwargs, always_call)


def active():
    return bool(FORWARD_PRE or FORWARD)
