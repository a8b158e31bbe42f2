"""A view's in-place change carried to its base, and a base's change to its views: xpnn's
recorded in-place ops rebind a tensor to a new array and node, where PyTorch's write into
memory the views share, so these functions rebind the others in the graph to match. Used by
tensor_inplace.py (and Tensor's setitem and random fills through ``write_back``)."""
from __future__ import annotations

from . import functional as F
from .functional import indexing as _indexing
from .functional import rearrange as _rearrange


def write_back(view):
    """After a recorded in-place change of ``view``, a view of another tensor (a basic index,
    a reshape, a permutation or an expansion of it): the same change in that base tensor.
    PyTorch's views share memory with their base; xpnn's recorded in-place ops rebind the
    tensor to a new array and graph node, so the base is rebound too, in the graph: by a
    recorded ``base[key] = view`` for an index (the base copied), by the inverse reshape or
    permutation for the others (no copy). A base that is itself a view passes it on."""
    base, kind, arg = view._view  # not a view of a leaf that requires grad: _graph_inplace
    if kind == "key":
        base[arg] = view  # __setitem__ writes back further
        return
    if kind == "permute":
        new = F.permute(view, [arg.index(d) for d in range(len(arg))])
    elif kind == "diagonal":
        new = F.diagonal_scatter(base, view, *arg)
        if new._node is None:  # nothing recorded: into the base's own memory, which its
            base._writable()[...] = new.array  # memory-sharing views see; a leaf stays one
            base._changed()
            if base._view is not None and base._view[1] == "diagonal":
                write_back(base)
            return
    else:
        new = F.reshape(view, base.shape)
    base._become(new)
    if base._view is not None:
        write_back(base)


def _refresh_views(base):
    """After a recorded in-place change rebound ``base``: its live views (see
    autograd.link_view) taken again from its new value, in the graph, so a view made before
    the change reads the change, as PyTorch's views of shared memory do."""
    for view in list(base._views):
        if view._view is None or view._view[0] is not base:
            continue
        kind, arg = view._view[1:]
        if kind == "key":
            new = _indexing.getitem(base, arg)
        elif kind == "permute":
            new = F.permute(base, arg)
        elif kind == "overlap":
            new = F.expand(base, view.shape)
        elif kind == "diagonal":
            new = _rearrange._diagonal(base, *arg)
        else:
            new = F.reshape(base, view.shape)
        view._become(new)  # which refreshes the view's own views


def _refresh_copies(base):
    """The live diagonal views of ``base`` (and of its views, recursively) read again from
    it, in place, after an unrecorded in-place change of ``base`` (see Tensor._changed)."""
    for view in list(base._views):
        if view._view is None or view._view[0] is not base:
            continue
        if view._view[1] == "diagonal":
            view._writable()[...] = _rearrange._diagonal(base.detach(), *view._view[2]).array
            view._vc[0] += 1
        if view._views:
            _refresh_copies(view)
