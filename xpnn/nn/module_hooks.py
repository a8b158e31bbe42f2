"""Registering Module hooks: forward pre-hooks, forward hooks, full backward (pre-)hooks (a
mixin base of :class:`xpnn.nn.Module`; ``Module.__call__`` runs them)."""
from __future__ import annotations

from .hooks import RemovableHandle


class _ModuleHooks:
    """The ``register_*_hook`` methods; mixed into Module."""

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

