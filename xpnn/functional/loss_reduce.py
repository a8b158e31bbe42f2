"""What every loss shares: the ``reduction`` argument ("mean", "sum", "none") checked and
applied, in forward and backward, and PyTorch's deprecated ``size_average``/``reduce`` pair."""
from __future__ import annotations


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce_forward(be, L, reduction, denom):
    if reduction == "none":
        return L
    total = be.xp.sum(L)
    return total if reduction == "sum" else _divide(be, total, denom)


def _reduce_backward(be, dY, reduction, denom):
    """The per-element factor that dL/d(element) carries from the reduced output."""
    return dY if reduction != "mean" else _divide(be, dY, denom)


def _divide(be, x, denom):
    """x / denom, silently NaN or inf for a denominator of 0 (an empty batch, or one with
    every label ignored), as in PyTorch; NumPy's warning is turned off only then (its
    errstate costs a microsecond a call)."""
    if isinstance(denom, (int, float)) and denom or be.on_host and bool(denom != 0):
        return x / denom
    with be.quiet():
        return x / denom



def legacy_reduction(size_average, reduce, reduction):
    """``reduction`` from PyTorch's deprecated ``size_average``/``reduce`` pair, with
    PyTorch's warning, or ``reduction`` itself when both are None."""
    if size_average is None and reduce is None:
        return reduction
    import warnings
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    out = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{out}' instead.", UserWarning, stacklevel=3)
    return out


def reduce_loss(loss, reduction):
    """A per-element loss Tensor reduced by ``reduction`` ("mean", "sum" or "none")."""
    from .reduce import mean, sum
    return mean(loss) if reduction == "mean" else sum(loss) if reduction == "sum" else loss
