"""DistributedDataParallel: one model replica per process, gradients averaged in backward.

Anchors: PyTorch's DistributedDataParallel (rank 0's state broadcast at construction,
buckets of ~25 MiB reduced as backward fills them, ``no_sync``), Horovod (allreduce of fused
gradient buffers, broadcast of parameters), ChainerMN (communicators over MPI and NCCL).
"""
from __future__ import annotations

import contextlib

from ... import backend as B
from ...autograd import is_grad_enabled
from ...distributed.group import current_group
from ..module import Module
from .reducer import Reducer


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training in the default process group.

    Construction checks that every rank holds a model with the same parameter and buffer
    names, shapes and dtypes (a ValueError on every rank names the first difference), then
    copies rank 0's parameters and buffers to every rank. Each training forward arms the
    reducer (see :mod:`xpnn.nn.parallel.reducer`): backward averages the gradients over the
    ranks, bucket by bucket while it runs, so after ``loss.backward()`` every rank holds the
    same averaged ``p.grad`` and the optimizer steps alike everywhere. With each rank's loss
    the mean over its own batch, that is the gradient of the mean over all ranks' batches.

    Args:
        module: the model (an ``nn.Module``); ``self.module`` after wrapping.
        device_ids, output_device, dim: accepted for PyTorch's signature; the model stays
            where it is (move it to this rank's device before wrapping).
        broadcast_buffers: copy rank 0's buffers (BatchNorm's running statistics) to every
            rank before each training forward, as PyTorch does.
        process_group: None (the default group).
        bucket_cap_mb: bucket size in MiB (default 25, PyTorch's).
        find_unused_parameters: also agree across ranks on which parameters got a gradient
            (one more small all-reduce per step, and on CuPy one host sync) and leave
            ``grad`` None for those no rank used; without it they get a zero gradient.
            Unused parameters are always found (by walking the graph from the outputs).
        check_reduction, gradient_as_bucket_view, static_graph: accepted, no effect.
    Attributes:
        module: the wrapped model. ``state_dict()`` keys start with ``"module."``, as in
            PyTorch; ``self.module.state_dict()`` gives the plain names.
        require_backward_grad_sync: False inside :meth:`no_sync`.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        name = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{name}: module must be an nn.Module, got {type(module).__name__}")
        group = current_group()
        if group is None:
            raise RuntimeError(f"{name}: the default process group has not been initialized;"
                               " call xpnn.distributed.init_process_group() first (and start "
                               "the processes with mpiexec)")
        if process_group not in (None, "WORLD"):
            raise ValueError(f"{name}: only the default process group is supported, got "
                             f"process_group={process_group!r}")
        cap = 25 if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not cap > 0:
            raise ValueError(f"{name}: bucket_cap_mb must be a number > 0, got "
                             f"{bucket_cap_mb!r}")
        self.module = module
        state = [t for _, t in module.named_parameters()] + [t for _, t in
                                                              module.named_buffers()]
        backends = {f"{t._be.name}:{t._be.device}" for t in state}
        if len(backends) > 1:
            raise TypeError(f"{name}: the module's parameters and buffers live on several "
                            f"backends/devices ({', '.join(sorted(backends))}); move it to "
                            "one with module.to(...) first")
        _check_same_model(group, module)
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.bucket_cap_mb = cap
        self._group = group
        if state:
            _broadcast_coalesced(group, state)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        for _, p in named:  # a module wrapped again: the newest wrapper's hooks alone
            for hook in list((p._hooks or {}).get("post", ())):
                owner = getattr(hook, "__self__", None)
                if isinstance(owner, Reducer):
                    owner.remove_hooks()
        transport = group.new_transport(named[0][1].array) if named else None
        self.reducer = Reducer(named, transport, int(cap * 2 ** 20), find_unused_parameters)

    def forward(self, *inputs, **kwargs):
        """Run the module; when recording a graph outside ``no_sync``, first copy rank 0's
        buffers (``broadcast_buffers``), then arm the gradient averaging of its backward."""
        record = is_grad_enabled()
        sync = record and self.require_backward_grad_sync
        if sync and self.broadcast_buffers:
            buffers = [b for _, b in self.module.named_buffers()]
            if buffers and self._group.size > 1:
                _broadcast_coalesced(self._group, buffers)
        out = self.module(*inputs, **kwargs)
        if sync:
            self.reducer.prepare(out)
        elif record:
            self.reducer.disarm()
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, forwards and backwards accumulate gradients locally, with no
        communication; the first backward after it averages what was accumulated::

            with ddp.no_sync():
                ddp(x1).sum().backward()      # local only
            ddp(x2).sum().backward()          # averages the sum of both
        """
        before, paused = self.require_backward_grad_sync, self.reducer.paused
        self.require_backward_grad_sync, self.reducer.paused = False, True
        try:
            yield
        finally:
            self.require_backward_grad_sync, self.reducer.paused = before, paused

    def extra_repr(self):
        return f"world_size={self._group.size}, bucket_cap_mb={self.bucket_cap_mb}"


def _signature(module):
    """What must agree across ranks: kind, name, shape, dtype, requires_grad, backend."""
    sig = [("parameter", n, tuple(p.shape), B.dtype_name(p.dtype), p.requires_grad,
            p._be.name) for n, p in module.named_parameters()]
    sig += [("buffer", n, tuple(b.shape), B.dtype_name(b.dtype), False, b._be.name)
            for n, b in module.named_buffers()]
    return sig


def _describe(entry):
    kind, n, shape, dtype, rg, be = entry
    return f"{kind} {n!r} of shape {shape}, dtype {dtype}" + \
        ("" if rg or kind == "buffer" else ", requires_grad=False") + f" on {be}"


def _check_same_model(group, module):
    """Raise ValueError (on every rank alike) naming the first difference from rank 0."""
    sigs = group.mpi.allgather_object(_signature(module))
    ref = sigs[0]
    for rank, sig in enumerate(sigs):
        if sig == ref:
            continue
        for k in range(max(len(ref), len(sig))):
            a = ref[k] if k < len(ref) else None
            b = sig[k] if k < len(sig) else None
            if a == b:
                continue
            if a is None:
                what = f"rank {rank} has a {_describe(b)} that rank 0 lacks"
            elif b is None:
                what = f"rank {rank} lacks the {_describe(a)} of rank 0"
            else:
                what = f"rank {rank} has a {_describe(b)} where rank 0 has a {_describe(a)}"
            raise ValueError(f"DistributedDataParallel: the models differ across ranks: "
                             f"{what}. Build the same model on every rank")


def _broadcast_coalesced(group, tensors, src=0):
    """Copy rank ``src``'s values of ``tensors`` to every rank: one broadcast per dtype,
    through one flat buffer."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(B.dtype_name(t.dtype), []).append(t)
    for dt, ts in by_dtype.items():
        xp = ts[0].xp
        flat = xp.concat([xp.reshape(t.array, (-1,)) for t in ts])
        if dt == "bool":  # NCCL has no bool
            flat = xp.astype(flat, xp.uint8)
        res = group.transport(flat, "DistributedDataParallel").broadcast(flat, src).wait()
        if group.rank == src:
            continue
        if dt == "bool":
            res = xp.astype(res, xp.bool)
        off = 0
        for t in ts:
            n = 1
            for d in t.shape:
                n *= d
            t._assign(xp.reshape(res[off:off + n], t.shape))
            off += n
