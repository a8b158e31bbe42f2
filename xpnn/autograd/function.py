"""torch.autograd.function: the custom-Function base, its context and ``once_differentiable``.

The context of a PyTorch-style :class:`Function` is the node itself (``ctx`` is an instance
of the Function's class), so ``FunctionCtx`` is the same class as ``Function`` here.
"""
import functools

from . import Function, is_grad_enabled, no_grad
from .tensor_base import TensorBase

FunctionCtx = Function


_TWICE = ("trying to differentiate twice a function that was marked with "
          "@once_differentiable")


class _DelayedError(Function):
    """Passes its inputs through; differentiating through it raises (PyTorch's
    DelayedError): the node a once_differentiable backward's results hang from."""

    @staticmethod
    def forward(ctx, *xs):
        return xs

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(_TWICE)

    def name(self):
        return "Error"  # PyTorch's name of the node (grad_fn=<Error>)


def _fake_requires_grad(t):
    if not isinstance(t, TensorBase) or not (t.is_floating_point() or t.is_complex()):
        return t
    return t.detach().requires_grad_(True)


def once_differentiable(backward):
    """Decorate a custom Function's ``backward`` that is not itself differentiable: it runs
    without recording. As in PyTorch, where a graph is being built (``create_graph=True``
    and an incoming gradient requires grad) its results still require grad, through a node
    whose backward raises "trying to differentiate twice ..."."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            out = backward(ctx, *grads)
        if not is_grad_enabled() or not any(isinstance(g, TensorBase) and g.requires_grad
                                            for g in grads):
            return out
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        fakes = [_fake_requires_grad(o) for o in outs]
        if not any(isinstance(f, TensorBase) and f.requires_grad for f in fakes):
            return out
        wrapped = list(_DelayedError.apply(*fakes))
        return wrapped[0] if single else tuple(wrapped)
    return wrapper


__all__ = ["Function", "FunctionCtx", "once_differentiable"]
