"""An optimizer's state dict in PyTorch's layout: ``state_dict`` and a ``load_state_dict``
that checks and converts everything before it changes anything, whichever backend (or
torch.optim) saved it. :class:`OptimizerStateDict` is a base of Optimizer.
"""
from __future__ import annotations

from collections import defaultdict

from .. import backend as B
from ..tensor import Tensor
from .optimizer_hooks import _with_hooks
from .slots import _host_number, _host_scalar, _user_slot, slot_tensor


class StateDictKeyMissing(KeyError, ValueError):
    """An optimizer state dict without 'state' or 'param_groups' (torch: KeyError); still
    the ValueError xpnn raised before."""

    __str__ = BaseException.__str__  # KeyError would quote the message


class OptimizerStateDict:
    """``state_dict`` / ``load_state_dict`` of :class:`xpnn.optim.Optimizer` (which supplies
    ``param_groups``, ``state``, ``defaults``, ``_validate`` and ``_runs_own_update``)."""

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
            cls = StateDictKeyMissing if isinstance(state_dict, dict) else ValueError
            raise cls(f"{name}.load_state_dict: expected a dict with 'state' and "
                      f"'param_groups', got {type(state_dict).__name__}"
                      + (f" with keys {list(state_dict)}" if cls is not ValueError else ""))
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
