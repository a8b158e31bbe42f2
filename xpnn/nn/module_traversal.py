"""Walking a Module tree: children, modules, parameters and buffers with PyTorch's names,
order and de-duplication (a mixin base of :class:`xpnn.nn.Module`)."""
from __future__ import annotations


class _ModuleTraversal:
    """named_children/modules/parameters/buffers and their unnamed forms; mixed into Module."""

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

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at the dotted path ``target`` ("encoder.layers.0"): replaces the
        child there or, unless ``strict``, adds it to the existing parent (PyTorch's
        errors: ValueError for an empty target or a non-Module, AttributeError for a path
        that does not lead to a Module)."""
        Module = _ModuleTraversal  # every Module is one (module.py imports this file)
        if target == "":
            raise ValueError(f"{type(self).__name__}.set_submodule: the target is empty")
        if not isinstance(module, Module):
            raise ValueError(f"{type(self).__name__}.set_submodule: `module` is not an "
                             f"nn.Module, found {type(module).__name__}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)
