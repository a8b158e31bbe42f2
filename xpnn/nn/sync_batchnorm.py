"""SyncBatchNorm: batch normalization whose statistics span every rank of the process group.

In training, each rank computes per channel its count n_r, mean m_r and sum of squared
deviations S_r in two passes over its own batch; one all-gather brings every rank's
(n_r, m_r, S_r), and each rank combines them in the same order (Chan, Golub & LeVeque
1979): N = sum n_r, mean = sum n_r m_r / N, var = sum (S_r + n_r (m_r - mean)^2) / N. That
is stable where the one-pass sum of squares loses digits, and costs one collective.

Backward needs, per channel, sum(dY) and sum(dY * Xhat) over the whole global batch: one
all-reduce of both. The input gradient then follows BatchNorm's formula with the global
count; the gradients of weight and bias stay the rank's own sums, which
DistributedDataParallel averages like any other gradient (as PyTorch's SyncBatchNorm).

In eval, or outside a process group of more than one rank, it is plain batch norm.
"""
from __future__ import annotations

from .. import backend as B
from ..distributed.group import current_group
from ..functional.norm import BatchNorm as _BatchNormNode
from ..functional.norm import _affine, _affine_grads, from_per_channel, per_channel
from . import norm
from .norm import _BatchNorm


def _reduce(group, arr, op):
    return group.transport(arr, op).allreduce(arr, "sum").wait()


class SyncBatchNormNode(_BatchNormNode):
    """BatchNorm's training node with the two per-channel sums of backward all-reduced.

    ``forward`` takes the centered input ``xc`` (C, M) and ``inv`` computed from the global
    statistics, the process group and the global count per channel (a 0-d array).
    """

    saved_inputs = ()

    def forward(self, X, *params, inv=None, xc=None, affine=(), group=None, count=None):
        self.group, self.count = group, count
        return super().forward(X, *params, mean=None, inv=inv, xc=xc, affine=affine)

    def backward(self, dY):
        xp, M = self.xp, self.count
        dYm = per_channel(xp, dY)
        Xc = self.Xc
        sum_dy = xp.sum(dYm, axis=1)                         # this rank's sums: the
        sum_dy_xhat = self.inv * xp.vecdot(dYm, Xc, axis=-1)  # weight and bias gradients
        dX = None
        if self.needs[0]:
            C = sum_dy.shape[0]
            total = _reduce(self.group, xp.concat([sum_dy, sum_dy_xhat]), "SyncBatchNorm")
            g_dy, g_dy_xhat = total[:C], total[C:]
            # dX = scale * (dY - mean(dY) - Xhat * mean(dY * Xhat)), means over all ranks
            b = xp.reshape(self.scale * self.inv * g_dy_xhat / M, (-1, 1))
            dXm = dYm * xp.reshape(self.scale, (-1, 1))
            dXm -= Xc * b
            dXm -= xp.reshape(self.scale * g_dy / M, (-1, 1))
            dX = from_per_channel(xp, dXm, self.shape)
        return (dX,) + _affine_grads(self.needs, self.affine,
                                     {"weight": sum_dy_xhat, "bias": sum_dy})


def global_stats(group, Xm):
    """(mean (C,), biased variance (C,), count (0-d)) of the rows of every rank's (C, M_r)
    ``Xm``, combined from one all-gather of each rank's (count, mean, squared deviations)."""
    be = B.backend_of(Xm)
    xp = be.xp
    C, n = Xm.shape
    mean_r = xp.mean(Xm, axis=1)
    d = Xm - xp.reshape(mean_r, (-1, 1))
    m2_r = xp.vecdot(d, d, axis=-1)
    count_r = xp.full((1,), n, dtype=Xm.dtype, device=be.device)
    mine = xp.concat([count_r, mean_r, m2_r])
    every = group.transport(mine, "SyncBatchNorm").allgather(mine).wait()  # (W, 2C + 1)
    counts = every[:, 0:1]
    means, m2s = every[:, 1:C + 1], every[:, C + 1:]
    N = xp.sum(counts)
    mean = xp.sum(counts * means, axis=0) / N
    var = xp.sum(m2s + counts * (means - mean) ** 2, axis=0) / N
    return mean, var, N


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over (N, C, *) with statistics of the whole global batch.

    Arguments as :class:`BatchNorm2d`, plus ``process_group`` (None: the default group).
    Use :meth:`convert_sync_batchnorm` to turn a model's BatchNorm layers into this one.
    Buffers and state_dict names are BatchNorm's, so checkpoints load either way.
    """

    ranks = (2, 3, 4, 5)
    dims = "(N, C, *)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, *, bias=True, backend=None,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias,
                         backend=backend, device=device, dtype=dtype)
        if process_group not in (None, "WORLD"):
            raise ValueError(f"SyncBatchNorm: only the default process group is supported, "
                             f"got process_group={process_group!r}")
        self.process_group = process_group

    def forward(self, input):
        group = current_group()
        if not self.training or group is None or group.size == 1:
            return super().forward(input)
        if input.ndim not in self.ranks or input.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input {self.dims} with C={self.num_features}"
                             f", got shape {input.shape}")
        xp = input.xp
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average: weight 1/batches seen
                momentum = 1 / xp.astype(self.num_batches_tracked.array,
                                         self.running_mean.dtype)
        Xm = per_channel(xp, input.array)
        mean, var, N = global_stats(group, Xm)
        xc = Xm - xp.reshape(mean, (-1, 1))
        inv = 1 / xp.sqrt(var + self.eps)
        if self.track_running_stats:
            rm, rv = self.running_mean.array, self.running_var.array
            rm[...] = (1 - momentum) * rm + momentum * mean
            rv[...] = (1 - momentum) * rv + momentum * (var * (N / (N - 1)))
        args, affine = _affine("SyncBatchNorm", input, self.weight, self.bias,
                               (self.num_features,))
        return SyncBatchNormNode.apply(*args, inv=inv, xc=xc, affine=affine, group=group,
                                       count=N)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Replace every BatchNorm1d/2d/3d inside ``module`` by a SyncBatchNorm sharing its
        parameters and buffers (in place for children); returns the module, or the new
        layer when ``module`` itself is a BatchNorm."""
        if isinstance(module, _convertible()):
            return cls._from(module, process_group)
        for name, child in list(module._modules.items()):
            if child is not None:
                new = cls.convert_sync_batchnorm(child, process_group)
                if new is not child:
                    setattr(module, name, new)
        return module

    @classmethod
    def _from(cls, bn, process_group):
        ref = bn.weight if bn.weight is not None else bn.running_mean
        where = {} if ref is None else {"backend": ref._be.name, "device": ref._be.device,
                                        "dtype": ref.dtype}
        new = cls(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats,
                  process_group, bias=bn.bias is not None, **where)
        if bn.affine:
            new.weight, new.bias = bn.weight, bn.bias
        if bn.track_running_stats:
            new.running_mean, new.running_var = bn.running_mean, bn.running_var
            new.num_batches_tracked = bn.num_batches_tracked
        return new.train(bn.training)


def _convertible():
    return tuple(getattr(norm, n) for n in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
                 if hasattr(norm, n))
