"""torch.autograd.graph: hooks on the tensors a graph saves for its backward.

``saved_tensors_hooks(pack_hook, unpack_hook)`` is PyTorch's (``save_on_cpu`` one use of it): while the context is active,
every tensor a recorded op saves for its backward goes through ``pack_hook`` when it is
saved, and what ``pack_hook`` returned goes through ``unpack_hook`` when backward needs the
tensor (which must give back a tensor of the same shape). Offloading activations, or
counting what a model keeps alive, are the usual uses.

In xpnn a node saves what its ``forward`` keeps: for xpnn's ops the arrays kept as
attributes of the node (directly or in a tuple or list), for PyTorch-style Functions the
tensors given to ``ctx.save_for_backward``; ops whose backward reads an input tensor itself
(``node.inputs``) do not pass it through the hooks. The packing itself lives with the node,
in function_base.py (``_pack_saved`` / ``_Unpacking``); this module holds the context
managers, which set the hooks there (a global stack: PyTorch's is per thread).
"""
from __future__ import annotations

from . import function_base as _fb


class saved_tensors_hooks:
    """Context manager: pack and unpack hooks for the tensors saved for backward.

    Args:
        pack_hook: ``Tensor -> object``, called as each tensor is saved.
        unpack_hook: ``object -> Tensor``, called with ``pack_hook``'s result when backward
            reads the saved tensor (once per backward through the node).
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _fb._saved_hooks_disabled is not None:
            raise RuntimeError(_fb._saved_hooks_disabled)
        _fb._saved_hooks.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        _fb._saved_hooks.pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Context manager: the tensors saved for backward wait on the CPU, moved there when
    saved and back to their device when backward reads them (PyTorch's way to spend
    transfers on saving accelerator memory; tensors already on the CPU stay as they are).

    Args:
        pin_memory: accepted for PyTorch's signature (xpnn copies to ordinary host memory).
        device_type: accepted for PyTorch's signature (every device's tensors move).
    """

    def __init__(self, pin_memory=False, device_type="cuda"):
        self.pin_memory, self.device_type = bool(pin_memory), device_type
        super().__init__(_to_cpu, _back)


def _to_cpu(tensor):
    return tensor.device, tensor.to("cpu")


def _back(packed):
    device, tensor = packed
    return tensor.to(device)


class disable_saved_tensors_hooks:
    """Context manager under which ``saved_tensors_hooks`` raises ``RuntimeError`` with
    ``error_message`` (PyTorch's: a feature that cannot work with saved-tensor hooks)."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self._prev = _fb._saved_hooks_disabled
        if _fb._saved_hooks:
            raise RuntimeError(self.error_message)
        _fb._saved_hooks_disabled = self.error_message
        return self

    def __exit__(self, *exc):
        _fb._saved_hooks_disabled = self._prev
        return False

