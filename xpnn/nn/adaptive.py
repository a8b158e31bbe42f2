"""AdaptiveLogSoftmaxWithLoss: the adaptive softmax of Grave et al., "Efficient softmax
approximation for GPUs" (ICML 2017), https://arxiv.org/abs/1609.04309, as torch.nn has it.

The classes are split by ``cutoffs`` into a shortlist (classes below ``cutoffs[0]``, scored by
the head together with one logit per tail cluster) and tail clusters, each scored by a
two-layer projection whose hidden size shrinks by ``div_value`` per cluster. The
log-probability of a tail class is its cluster's head log-probability plus its log-probability
within the cluster.

PyTorch picks the rows of each cluster with ``nonzero`` (a data-dependent shape, so a host
sync on a GPU). Here every cluster is scored for every row and the rows that do not belong to
it are masked out with ``where``: the same values and gradients, no host read in the step,
at the price of running each tail projection on the whole batch.
"""
from __future__ import annotations

from collections import namedtuple

from .. import backend as B
from .. import functional as F
from .linear import Linear
from .module import Module, check_int
from .sequential import ModuleList, Sequential

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class _InputError(ValueError, RuntimeError):
    """A bad input or target: PyTorch raises a RuntimeError, xpnn's kind is a ValueError."""


class _DtypeError(TypeError, RuntimeError):
    """A floating target: PyTorch's RuntimeError, xpnn's TypeError."""


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax with its negative log-likelihood loss.

    Args:
        in_features: size of each input row, int >= 1.
        n_classes: number of classes, int >= 2.
        cutoffs: increasing unique ints in [1, n_classes - 1]; classes below cutoffs[0] are
            the shortlist, each following range is one tail cluster.
        div_value: the hidden size of cluster i is ``int(in_features // div_value**(i+1))``.
        head_bias: give the head a bias.
        backend, device, dtype: where the parameters live.
    Shapes:
        forward(input (N, in_features) or (in_features,), target (N,) or () int64) ->
        ``(output, loss)``: output (N,) (or ()) the target's log-probability per row, loss
        the mean of -output (a 0-d tensor).
        log_prob(input (N, in_features)) -> (N, n_classes); predict(input) -> (N,) int64.
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None, *, backend=None):
        super().__init__()
        name = "AdaptiveLogSoftmaxWithLoss"
        check_int(name, "in_features", in_features)
        check_int(name, "n_classes", n_classes, 2)
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ValueError(f"{name}: cutoffs should be a sequence of length larger than 0")
        if any(isinstance(c, bool) or int(c) != c for c in cutoffs) or \
                cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or \
                max(cutoffs) > n_classes - 1 or len(set(cutoffs)) != len(cutoffs):
            raise ValueError(f"{name}: cutoffs should be a sequence of unique, positive "
                             "integers sorted in an increasing order, where each value is "
                             f"between 1 and n_classes-1={n_classes - 1}, got {cutoffs!r}")
        if isinstance(div_value, bool) or not isinstance(div_value, (int, float)) or \
                div_value <= 0:
            raise ValueError(f"{name}: div_value must be a number > 0, got {div_value!r}")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value, self.head_bias = div_value, bool(head_bias)
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        where = dict(backend=backend, device=device, dtype=dtype)
        self.head = Linear(in_features, self.head_size, bias=self.head_bias, **where)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            if hsz < 1:
                raise ValueError(f"{name}: cluster {i} would have hidden size {hsz} "
                                 f"(in_features={in_features} // div_value**{i + 1}); use a "
                                 "smaller div_value or fewer cutoffs")
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, **where),
                                        Linear(hsz, osz, bias=False, **where)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def _check(self, op, x, ranks):
        if x.ndim not in ranks or x.shape[-1] != self.in_features:
            shapes = {2: f"(N, {self.in_features})", 1: f"({self.in_features},)"}
            raise _InputError(f"{type(self).__name__}.{op}: expected input of shape "
                              f"{' or '.join(shapes[r] for r in ranks)}, got "
                              f"{tuple(x.shape)}")

    def forward(self, input_, target_):  # PyTorch's argument names
        """(output, loss): each row's log-probability of its target, and their negative
        mean."""
        name = type(self).__name__
        x, t = input_, target_
        if t.ndim == 1:
            self._check("forward", x, (2,))
            if x.shape[0] != t.shape[0]:
                raise _InputError(f"{name}: input and target should have the same size in the "
                                  f"batch dimension, got {tuple(x.shape)} and "
                                  f"{tuple(t.shape)}")
        elif t.ndim == 0:
            self._check("forward", x, (1,))
        else:
            raise _InputError(f"{name}: 0D or 1D target tensor expected, multi-target not "
                              f"supported (got target of shape {tuple(t.shape)})")
        if t._be.is_floating(t.dtype) or B.dtype_name(t.dtype) == "bool":
            raise _DtypeError(f"{name}: target must be an integer tensor, got dtype {t.dtype}")
        batched = t.ndim == 1
        if not batched:
            x, t = F.unsqueeze(x, 0), F.unsqueeze(t, 0)
        if t._be.on_host:  # the range check reads the labels: only where that is free
            lo, hi = int(F.min(t).item()), int(F.max(t).item())
            if lo < 0 or hi >= self.n_classes:
                raise RuntimeError(f"{name}: target values should be in [0, "
                                   f"{self.n_classes - 1}], but values in range [{lo}, {hi}] "
                                   "were found")
        short = self.shortlist_size
        head_index = t
        output = None
        for i in range(1, self.n_clusters + 1):
            low, high = self.cutoffs[i - 1], self.cutoffs[i]
            inside = (t >= low) & (t < high)
            head_index = F.where(inside, short + i - 1, head_index)
            rel = F.clamp(t - low, 0, high - low - 1)
            logp = F.log_softmax(self.tail[i - 1](x), dim=1)
            local = F.where(inside, F.gather(logp, 1, F.unsqueeze(rel, 1))[:, 0], 0.0)
            output = local if output is None else output + local
        head_logp = F.log_softmax(self.head(x), dim=1)
        output = F.gather(head_logp, 1, F.unsqueeze(head_index, 1))[:, 0] + output
        loss = F.mean(-output)
        return _ASMoutput(output if batched else output[0], loss)

    def _full_log_prob(self, x, head_out):
        head_logp = F.log_softmax(head_out, dim=1)
        short = self.shortlist_size
        parts = [head_logp[:, :short]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](x), dim=1)
            parts.append(cluster + head_logp[:, short + i:short + i + 1])
        return F.cat(parts, dim=1)

    def log_prob(self, input):
        """Log-probabilities of every class: (N, in_features) -> (N, n_classes)."""
        self._check("log_prob", input, (2,))
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most likely class of each row: (N, in_features) -> (N,) int64. As PyTorch: the
        head's best when it is a shortlist class, else the best of the full distribution."""
        self._check("predict", input, (2,))
        head_out = self.head(input)
        best = F.argmax(head_out, dim=1)
        full = F.argmax(self._full_log_prob(input, head_out), dim=1)
        return F.where(best < self.shortlist_size, best, full)
