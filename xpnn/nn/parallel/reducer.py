"""The gradient reducer of DistributedDataParallel: flat buckets averaged while backward runs.

Layout. The parameters, in reverse registration order (backward meets the last layers
first), are cut into buckets of about ``bucket_bytes``; the buckets of one dtype are
consecutive slices of one contiguous buffer of that dtype, allocated once.

One step. The forward pass of the wrapped module leaves a graph; ``prepare`` walks it from
the outputs and notes which parameters it reaches (an unused one counts as ready).
Backward calls a parameter's post-accumulate-grad hook once, after every contribution to
its gradient (from the forward's graph or from other terms of the loss, such as a weight
penalty) was summed, as in PyTorch; the parameter is then ready. When every parameter of
a bucket is ready, the bucket's
gradients are copied into its slice and a non-blocking all-reduce (MPI ``Iallreduce`` or
NCCL on its own stream) is started, buckets strictly in index order so that every rank
issues the same collectives in the same order. The hook that readies the last bucket also
ends the step: it waits for every bucket, divides by the world size and writes the averages
back into ``p.grad`` (zeros for a parameter that got no gradient on this rank), so when
``loss.backward()`` returns the gradients are averaged. Between hooks, pending MPI requests
are tested, which is what lets MPI make progress while backward computes.

How backward's end is known: by those parameters, since the engine has no
end-of-backward callback. Two consequences. A gradient for a parameter the forward did not
reach, or one delivered after the average was written and before the next forward (a
second backward, or one through ``ddp.module``), raises an error on every rank rather than
being left out of, or added after, the average; under ``no_sync()`` such a backward is
allowed and stays local. And a forward output whose graph the loss never reaches leaves its
parameters pending; the next forward then raises (PyTorch's DDP has the same rule).
"""
from __future__ import annotations

import math

from ... import backend as B
from ...tensor import Tensor


class _Bucket:
    def __init__(self, dtype):
        self.dtype, self.members, self.nbytes = dtype, [], 0
        self.start = self.stop = 0
        self.remaining = 0


class Reducer:
    """Averages the gradients of ``named_params`` over a transport's ranks (see module doc).

    Args:
        named_params: (name, Parameter) pairs, all on one backend.
        transport: an MPITransport or NCCLTransport of DistributedDataParallel's own.
        bucket_bytes: the size a bucket is closed at.
        find_unused_parameters: also all-reduce which parameters got a gradient, and leave
            ``grad`` None for those unused on every rank (else they get zeros).
    """

    def __init__(self, named_params, transport, bucket_bytes, find_unused_parameters):
        self.names = [n for n, _ in named_params]
        self.params = [p for _, p in named_params]
        self.transport, self.world = transport, transport.size
        self.find_unused = bool(find_unused_parameters)
        self.index = {id(p): i for i, p in enumerate(self.params)}
        self.state, self.seen = "off", 0  # "off", "armed" (forward done), "done"
        self.paused = False  # inside DistributedDataParallel.no_sync()
        self.buckets, self.flats, self.offset = [], {}, {}
        self.bucket_of = [0] * len(self.params)
        self._handles = []
        if not self.params:
            return
        self.be = self.params[0]._be
        self._layout(bucket_bytes)
        for p in self.params:
            self._handles.append(p.register_post_accumulate_grad_hook(self._hook))

    def _layout(self, bucket_bytes):
        xp, be = self.be.xp, self.be
        open_, closed = {}, []
        for i in reversed(range(len(self.params))):
            p = self.params[i]
            dt = B.dtype_name(p.dtype)
            b = open_.get(dt)
            if b is None:
                b = open_[dt] = _Bucket(dt)
            b.members.append(i)
            b.nbytes += math.prod(p.shape) * p.itemsize
            if b.nbytes >= bucket_bytes:
                closed.append(open_.pop(dt))
        self.buckets = closed + list(open_.values())
        ends = {}
        for k, b in enumerate(self.buckets):
            b.start = off = ends.get(b.dtype, 0)
            for i in b.members:
                self.offset[i] = off
                off += math.prod(self.params[i].shape)
                self.bucket_of[i] = k
            b.stop = ends[b.dtype] = off
        self.flats = {dt: xp.zeros((n,), dtype=be.dtype(dt), device=be.device)
                      for dt, n in ends.items()}
        self.used = xp.zeros((len(self.params),), dtype=xp.int32, device=be.device) \
            if self.find_unused else None

    def remove_hooks(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    # -- one step ---------------------------------------------------------------------
    def prepare(self, outputs):
        """Arm the reducer for the backward of this forward's ``outputs``."""
        self.check_finished()
        counts = self._deliveries(outputs)
        self.pending = [1 if counts.get(i) else 0 for i in range(len(self.params))]
        for b in self.buckets:
            b.remaining = sum(1 for i in b.members if self.pending[i] > 0)
        self.next, self.works, self.seen = 0, [], 0
        self.state = "armed" if self.params else "off"
        if self.find_unused:
            self.used_host = [0] * len(self.params)

    def disarm(self):
        """Forget an armed step (a forward under no_sync)."""
        self.check_finished()
        self.state = "off"

    def check_finished(self):
        """Raise if the last armed step's backward started but did not average everything
        (a forward with no backward at all is fine)."""
        if self.state != "armed" or self.seen == 0:
            return
        left = [self.names[i] for i, n in enumerate(self.pending) if n > 0]
        self.state = "off"
        raise RuntimeError(
            "DistributedDataParallel: the previous backward did not finish averaging "
            f"gradients; parameters {left[:5]}{' ...' if len(left) > 5 else ''} received no "
            "(or fewer) gradients than the forward pass gave them edges. Every output of the "
            "wrapped module's forward must feed the loss; leave out unused outputs or heads "
            "(or call them under no_sync())")

    def _deliveries(self, outputs):
        """{parameter index: graph edges that deliver it a gradient} from ``outputs``."""
        counts, seen, stack = {}, set(), []
        for t in _tensors(outputs):
            if t._node is not None:
                stack.append(t._node)
            elif t._rg and id(t) in self.index:  # a parameter returned as it is
                i = self.index[id(t)]
                counts[i] = counts.get(i, 0) + 1
        index = self.index
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            d = node.__dict__
            inputs = d.get("inputs")
            if inputs is None:
                continue
            for t, (src, _), need in zip(inputs, d["edges"], d["needs"]):
                if not need:
                    continue
                if src is None:
                    i = index.get(id(t))
                    if i is not None:
                        counts[i] = counts.get(i, 0) + 1
                elif src not in seen:
                    stack.append(src)
        return counts

    def _hook(self, p):
        if self.state == "off" or self.paused:
            return
        i = self.index[id(p)]
        left = 0 if self.state == "done" else self.pending[i]
        if left == 0:
            when = "after this step's gradients were averaged" if self.state == "done" else \
                "though the wrapped module's forward did not use it"
            self.state = "off"
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self.names[i]!r} received a gradient "
                f"{when}, so the ranks' gradients would differ. Causes: a second backward, a "
                "backward through ddp.module called directly instead of the wrapper, or a "
                "term of the loss built from a parameter the forward leaves out. A backward "
                "meant to stay local runs under ddp.no_sync()")
        self.seen += 1
        self.pending[i] = left - 1
        if left == 1:
            self.buckets[self.bucket_of[i]].remaining -= 1
        self._launch_ready()
        if self.next == len(self.buckets):
            self._finish()
        else:
            for _, w in self.works:  # drive MPI's progress engine between backward's ops
                if not w.test():
                    break

    def _launch_ready(self):
        """Start the all-reduce of every ready bucket, in bucket order."""
        buckets, xp = self.buckets, self.be.xp
        while self.next < len(buckets) and buckets[self.next].remaining == 0:
            b = buckets[self.next]
            flat = self.flats[b.dtype]
            for i in b.members:
                g, o = self.params[i].grad, self.offset[i]
                n = math.prod(self.params[i].shape)
                if g is None:
                    flat[o:o + n] = 0.0
                else:
                    flat[o:o + n] = xp.reshape(g.array, (-1,))
                    if self.find_unused:
                        self.used_host[i] = 1
            self.works.append((b, self.transport.allreduce(flat[b.start:b.stop], "sum")))
            self.next += 1

    def _finish(self):
        """Wait for every bucket, then write the averages into ``p.grad``."""
        self.state = "done"  # a later delivery before the next forward is an error
        xp, be = self.be.xp, self.be
        used = None
        if self.find_unused:
            self.used[...] = be.asarray(self.used_host, dtype="int32")
            res = self.transport.allreduce(self.used, "sum").wait()
            used = B.to_numpy(res)  # host flags: MPI reduced them on the host already
        inv = 1.0 / self.world
        for b, work in self.works:
            seg = work.wait()
            avg = seg * inv  # a new array: the bucket buffer is reused next step
            for i in b.members:
                p = self.params[i]
                if used is not None and used[i] == 0:
                    continue  # unused on every rank: grad stays as it is (None), as PyTorch
                o = self.offset[i] - b.start
                g = xp.reshape(avg[o:o + math.prod(p.shape)], p.shape)
                if p.grad is None:
                    p.grad = Tensor(g, _be=be)
                else:
                    p.grad._assign(g)
        self.works = []


def _tensors(obj):
    """Every Tensor inside a forward's output (nested tuples, lists and dicts)."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)
