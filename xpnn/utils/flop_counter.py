"""``torch.utils.flop_counter``: :class:`FlopCounterMode` counts the floating-point
operations of matrix products, convolutions and attention, forward and backward, with
PyTorch's formulas (two per multiply-add; no elementwise op counts).

How it sees xpnn's ops: while a counter is active it is the recorder on
``function_base._tracer`` (chained to any recorder set before it), which ``Function.apply``
calls after every op, recorded or not (so ``no_grad`` and ``inference_mode`` forwards count
too). A node that will run a backward gets a per-instance ``backward`` that counts the
products that backward really computes (dX and dW only where the inputs need them) before
running the class's own. Modules are followed through the global forward hooks; a node's
backward is counted under the modules its forward ran in.

Keys of :meth:`FlopCounterMode.get_flop_counts` are PyTorch's op names as strings
(``"aten.mm"``, ``"aten.addmm"``, ``"aten.bmm"``, ``"aten.convolution"``,
``"aten.convolution_backward"``, ``"aten._scaled_dot_product_flash_attention"`` and its
``_backward``), since xpnn has no aten OpOverloads; ``str(torch.ops.aten.mm)`` is the same
string. :func:`register_flop_formula` and ``custom_mapping`` take either one of the product
names (``"aten.mm"``/``"addmm"``/``"bmm"``/``"baddbmm"``, or an object whose ``str`` is one:
the formula then replaces PyTorch's for every such product, forward and backward) or an
xpnn ``Function`` subclass (its calls are then counted by the formula, forward only, under
the class as key).
"""
from __future__ import annotations

import warnings
import weakref
from collections import defaultdict

from ..autograd import function_base as _fb
from ..nn import module_global_hooks as _hooks
from .flop_formulas import (_RULES, _builtin, _conv, _default, _registry, _shapes,
                            _target_key, register_flop_formula)
from .flop_formulas import (addmm_flop, baddbmm_flop, bmm_flop, conv_flop_count,  # noqa: F401
                            mm_flop, sdpa_backward_flop_count, sdpa_flop_count)

__all__ = ["FlopCounterMode", "register_flop_formula"]

# -- the counter ------------------------------------------------------------------------------
class _Counted:
    """A node's per-instance ``backward``: count its products, then run the real one."""

    def __init__(self, counter, fn, inputs, params, parents, rule, prev):
        self.counter, self.fn, self.parents = counter, weakref.ref(fn), parents
        self.shapes = [_Shape(t.shape) for t in inputs]
        self.params, self.rule, self.prev = params, rule, prev

    def __call__(self, *dYs):
        fn = self.fn()
        if self.counter._active:
            self.counter._add(self.rule(type(fn), fn.needs, self.shapes, self.params, True),
                              self.parents)
        if self.prev is not None:
            return self.prev(*dYs)
        return type(fn).backward(fn, *dYs)


class _Shape:
    """A tensor reduced to its shape, so a pending backward keeps no activation alive."""
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)


class FlopCounterMode:
    """Count the FLOPs of the products run inside ``with``, per module.

    Args:
        mods: deprecated and ignored (modules are followed without it), as in PyTorch.
        depth: how deep in the module tree the printed table goes.
        display: print the table on exit.
        custom_mapping: {target: formula} for this counter only (targets as for
            :func:`register_flop_formula`; formulas take shapes unless marked ``get_raw``).
    """

    def __init__(self, mods=None, depth=2, display=True, custom_mapping=None):
        self.flop_counts = defaultdict(lambda: defaultdict(int))
        self.depth, self.display = depth, display
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it",
                          stacklevel=2)
        self._custom = {}
        for target, formula in (custom_mapping or {}).items():
            raw = getattr(formula, "_get_raw", False)
            self._custom[_target_key(target)] = formula if raw else _shapes(formula)
        self._active, self._prev, self._handles = False, None, ()
        self._names, self._seen, self._stack = weakref.WeakKeyDictionary(), set(), []

    # -- results ---------------------------------------------------------------------------
    def get_total_flops(self):
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self):
        """{module name ("Global" for everything): {op key: flops}}."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth=None):
        """The table printed on exit: each module to ``depth`` with its ops, FLOPs scaled to
        the total's unit and share of the total."""
        depth = self.depth if depth is None else depth
        depth = 999999 if depth is None else depth
        total = self.get_total_flops()
        unit = _suffix(total)
        rows, subsumed = [], False

        def lines(name, indent):
            nonlocal subsumed
            flops = sum(self.flop_counts[name].values())
            subsumed |= flops >= total
            pad = " " * indent
            out = [[pad + name, _scaled(flops, unit), _percent(flops, total)]]
            for k, v in self.flop_counts[name].items():
                label = k.__name__ if isinstance(k, type) else str(k)
                out.append([pad + " - " + label, _scaled(v, unit), _percent(v, total)])
            return out

        for name in sorted(self.flop_counts):
            if name != "Global" and name.count(".") + 1 <= depth:
                rows += lines(name, name.count("."))
        if "Global" in self.flop_counts and not subsumed:
            for r in rows:
                r[0] = " " + r[0]
            rows = lines("Global", 0) + rows
        return _tabulate(rows or [["Global", "0", "0%"]], ["Module", "FLOP", "% Total"])

    # -- the context -----------------------------------------------------------------------
    def __enter__(self):
        self.flop_counts.clear()
        self._rules = {**_builtin(), **_registry, **self._custom}
        self._stack = []
        self._handles = (_hooks.register_module_forward_pre_hook(self._pre),
                         _hooks.register_module_forward_hook(self._post, always_call=True))
        self._prev, _fb._tracer = _fb._tracer, self
        self._active = True
        return self

    def __exit__(self, *exc):
        self._active = False
        if _fb._tracer is self:
            _fb._tracer = self._prev
        else:  # a recorder set after ours is still on: unlink ours from its chain
            rec = _fb._tracer
            while rec is not None and getattr(rec, "prev", getattr(rec, "_prev", None)) is not self:
                rec = getattr(rec, "prev", getattr(rec, "_prev", None))
            if rec is not None:
                setattr(rec, "prev" if hasattr(rec, "prev") else "_prev", self._prev)
        for h in self._handles:
            h.remove()
        self._handles, self._prev = (), None
        if self.display:
            print(self.get_table(self.depth))
        return False

    # -- module tracking (PyTorch's names: the root's class name, then attribute paths) -----
    def _name(self, mod):
        name = self._names.get(mod)
        if name is None:
            name = self._names[mod] = type(mod).__name__
        if id(mod) not in self._seen:
            self._seen.add(id(mod))
            for child_name, child in mod.named_children():
                if child not in self._names:
                    self._names[child] = f"{name}.{child_name}"
        return name

    def _pre(self, mod, args):
        self._stack.append(self._name(mod))

    def _post(self, mod, args, output):
        name = self._name(mod)
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i] == name:
                del self._stack[i]
                break

    def _parents(self):
        return frozenset(self._stack) | {"Global"}

    def _add(self, events, parents):
        rules = self._rules
        for key, args in events:
            formula = rules.get(key)
            if isinstance(args, int):  # conv backward / fused attention: already counted
                flops = args
            elif formula is not None:
                flops = formula(*args, out_val=None)
            else:
                flops = _default(key, args)
            for p in parents:
                self.flop_counts[p][key] += flops

    # -- function_base._tracer's hook --------------------------------------------------------
    def record(self, cls, inputs, params, outs):
        if self._prev is not None:
            self._prev.record(cls, inputs, params, outs)
        rule = self._rules.get(cls)
        if rule is None:
            return
        parents = self._parents()
        if rule not in _RULES:  # a custom formula for this Function: forward only
            flops = rule(*inputs, out_val=outs, **params)
            for p in parents:
                self.flop_counts[p][cls] += flops
            return
        if rule is _conv:  # the output's shape, for its backward's count
            params = {**params, "_out": tuple(_first(outs).shape)}
        self._add(rule(cls, None, inputs, params, False), parents)
        fn = getattr(_first(outs), "_node", None)
        if type(fn) is cls and not cls._ctx_style:
            prev = fn.__dict__.get("backward")
            fn.backward = _Counted(self, fn, inputs, params, parents, rule, prev)


def _first(outs):
    return outs[0] if isinstance(outs, (tuple, list)) else outs


# -- the table ---------------------------------------------------------------------------------
_SUFFIXES = ["", "K", "M", "B", "T"]


def _suffix(number):
    """The unit of the total: one step per three digits past the first two (1001M, not
    1.001B, as PyTorch)."""
    return _SUFFIXES[max(0, min(len(_SUFFIXES) - 1, (len(str(number)) - 2) // 3))]


def _scaled(number, suffix):
    return f"{number / 1000 ** _SUFFIXES.index(suffix):.3f}{suffix}"


def _percent(num, denom):
    return "0%" if denom == 0 else f"{num / denom:.2%}"


def _tabulate(rows, header):
    """A plain text table, first column left-aligned, the others right-aligned, columns two
    spaces apart under a dashed rule (the layout of tabulate's "simple" format)."""
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] +
                     [line(r) for r in rows])
