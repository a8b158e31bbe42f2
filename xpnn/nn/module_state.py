"""Module's state: ``state_dict``/``load_state_dict`` with PyTorch's keys, order and errors,
and the state-dict hooks (a mixin base of :class:`xpnn.nn.Module`)."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

from .. import backend as B
from ..autograd import TensorBase
from ..tensor import Tensor
from .hooks import RemovableHandle


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns (PyTorch's ``_IncompatibleKeys``, its class name
    too)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "  # PyTorch's text
                f"unexpected_keys={self.unexpected_keys!r})")

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys
EXTRA_STATE = "_extra_state"  # the state_dict key of get_extra_state's value, as PyTorch's


class StateDictKeyError(KeyError, RuntimeError):
    """Missing or unexpected keys in ``load_state_dict(strict=True)``; a RuntimeError as in
    PyTorch and a KeyError as xpnn raised before."""

    __str__ = BaseException.__str__  # KeyError would quote the message


class StateDictShapeError(ValueError, RuntimeError):
    """A state dict entry whose shape is not the module's (RuntimeError in PyTorch)."""


class StateDictTypeError(TypeError, RuntimeError):
    """A state dict entry that is not a tensor or an array (RuntimeError in PyTorch)."""



class _ModuleState:
    """state_dict, load_state_dict and their hooks; mixed into Module."""

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
        if destination is None:  # {module path: {"version": ...}}, as PyTorch's
            out._metadata = OrderedDict()
        return self._save_state(out, prefix, keep_vars)

    def get_extra_state(self):
        """Override (with :meth:`set_extra_state`) to save a value that is not a tensor
        under the key ``"<prefix>_extra_state"`` of ``state_dict``."""
        raise RuntimeError(f"{type(self).__name__}.get_extra_state was called without an "
                           "override; define it to return the module's extra state")

    def set_extra_state(self, state):
        """Override to restore what :meth:`get_extra_state` returned."""
        raise RuntimeError(f"{type(self).__name__}.set_extra_state was called without an "
                           "override; define it to restore the module's extra state")

    def _has_extra(self, method):
        return getattr(type(self), method) is not getattr(_ModuleState, method)

    def _save_state(self, out, prefix, keep_vars):
        d = self.__dict__
        for hook in d.get("_state_dict_pre_hooks", {}).values():
            hook(self, prefix, keep_vars)
        skip = d.get("_non_persistent", ())
        names = [n for n, p in self._parameters.items() if p is not None]
        names += [n for n, b in self._buffers.items() if b is not None and n not in skip]
        meta = {"version": getattr(type(self), "_version", 1)}
        if hasattr(out, "_metadata"):
            out._metadata[prefix[:-1]] = meta
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, Tensor) and not getattr(value, "is_sparse", False):
                value = Tensor(value)
            out[prefix + name] = value if keep_vars else value.detach()
        if self._has_extra("get_extra_state"):
            out[prefix + EXTRA_STATE] = self.get_extra_state()
        for name, child in self._modules.items():
            if child is not None:  # a child's hook replacing the dict is not seen (PyTorch)
                child._save_state(out, f"{prefix}{name}.", keep_vars)
        for hook, public in d.get("_state_dict_hooks", {}).values():
            result = hook(self, out, prefix, meta)
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
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict-like "
                            f"state_dict, got {type(state_dict).__name__}")
        pre = [(path, mod) for path, mod in self.named_modules(remove_duplicate=False)
               if mod.__dict__.get("_load_state_dict_pre_hooks")]
        missing0, unexpected0, errors = [], [], []  # what pre-hooks report
        metadata = getattr(state_dict, "_metadata", None) or {}
        if pre:
            state_dict = OrderedDict(state_dict)  # the hooks edit a copy, as in PyTorch
            for path, mod in pre:
                args = (state_dict, f"{path}." if path else "", metadata.get(path, {}),
                        strict, missing0, unexpected0, errors)
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
        extra = {f"{path}.{EXTRA_STATE}" if path else EXTRA_STATE: mod
                 for path, mod in self.named_modules(remove_duplicate=False)
                 if mod._has_extra("set_extra_state")}
        # a buffer that older checkpoints lack (BatchNorm's num_batches_tracked) keeps its
        # value when absent, as in PyTorch
        missing = missing0 + [k for k in slots if k not in state_dict and
                              slots[k][1] not in type(slots[k][0])._optional_state]
        missing += [k for k in extra if k not in state_dict]
        unexpected = unexpected0 + [k for k in state_dict if k not in slots and k not in extra]
        keys_wrong = strict and (missing or unexpected) and not post
        staged, bad = [], []  # bad: (class, text) per entry that cannot load
        for key, value in state_dict.items():
            if key not in slots:
                continue
            mod, name = slots[key]
            current = getattr(mod, name)
            if getattr(type(value), "_lazy_placeholder", False):  # an uninitialized one
                if getattr(type(current), "_lazy_placeholder", False):
                    continue  # stays uninitialized, as in PyTorch
                bad.append((StateDictShapeError, f"size mismatch for {key}: key {key!r} is "
                            "uninitialized (a lazy module's placeholder) in the state dict "
                            f"but has shape {tuple(current.shape)} in the model"))
                continue
            if getattr(current, "is_sparse", False) or getattr(value, "is_sparse", False):
                _stage_sparse(key, current, value, staged, bad)  # sparse buffers: copy_
                continue
            value = value.array if isinstance(value, TensorBase) else value
            if not B.is_array(value):
                bad.append((StateDictTypeError, f"key {key!r} is a "
                            f"{type(value).__name__}, not a Tensor or an array"))
                continue
            if tuple(value.shape) != tuple(current.shape):  # torch: even with strict=False
                bad.append((StateDictShapeError, f"size mismatch for {key}: key {key!r} has "
                            f"shape {tuple(value.shape)} in the state dict but "
                            f"{tuple(current.shape)} in the model"))
                continue
            if assign:
                staged.append((current, value))
                continue
            be = current._be
            arr = be.asarray(value, dtype=current.dtype)
            # asarray may alias the caller's array (NumPy, torch from NumPy): optimizers
            # update parameters in place, so the module must own its copy
            staged.append((current, be.xp.asarray(arr, copy=True)))
        if bad or keys_wrong:  # every problem in one error, before anything is assigned
            texts = ([f"missing keys {missing}, unexpected keys {unexpected}"]
                     if keys_wrong else []) + [text for _, text in bad]
            cls = bad[0][0] if bad else StateDictKeyError
            raise cls(f"load_state_dict into {type(self).__name__}: " + "; ".join(texts))
        for current, arr in staged:
            if getattr(current, "is_sparse", False):
                current._load_from(arr)
            elif assign:
                be = B.backend_of(arr)
                if be is not current._be or arr.dtype != current.array.dtype:
                    current._grad = None  # a gradient of another dtype/device no longer fits
                current.array, current._be = arr, be
                current._bump()
            else:
                current._assign(arr)
        for key, mod in extra.items():
            if key in state_dict:
                mod.set_extra_state(state_dict[key])
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


def _stage_sparse(key, current, value, staged, bad):
    """A sparse buffer takes a sparse value of its size (PyTorch's ``copy_``); a dense value
    for it, or a sparse one for a dense slot, is refused."""
    if not (getattr(current, "is_sparse", False) and getattr(value, "is_sparse", False)):
        bad.append((StateDictTypeError, f"key {key!r}: cannot copy a "
                    f"{'sparse' if getattr(value, 'is_sparse', False) else 'dense'} value "
                    f"into a {'sparse' if getattr(current, 'is_sparse', False) else 'dense'} "
                    "tensor of the model (xpnn copies sparse into sparse only)"))
    elif tuple(value.shape) != tuple(current.shape):
        bad.append((StateDictShapeError, f"size mismatch for {key}: copying a param with "
                    f"shape {tuple(value.shape)} from checkpoint, the shape in current model "
                    f"is {tuple(current.shape)}."))
    else:
        staged.append((current, value))
