"""torch.autograd.function: the custom-Function base, its context and ``once_differentiable``.

The context of a PyTorch-style :class:`Function` is the node itself (``ctx`` is an instance
of the Function's class), so ``FunctionCtx`` is the same class as ``Function`` here.
"""
import functools

from . import Function, no_grad

FunctionCtx = Function


def once_differentiable(backward):
    """Decorate a custom Function's ``backward`` that is not itself differentiable: it runs
    without recording, so a double backward through it finds no graph and raises (as in
    PyTorch)."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    return wrapper


__all__ = ["Function", "FunctionCtx", "once_differentiable"]
