"""torch.autograd.grad_mode: whether ops record a graph, per thread, and the context managers
(and decorators) that switch it: no_grad, enable_grad, set_grad_enabled, inference_mode."""
import inspect
import threading

_mode = threading.local()
# True once any thread entered inference_mode(True): until then no tensor can be an inference
# tensor, and the checks for them (tensor_base._init, function_base) skip at one global read
inference_seen = False


def is_grad_enabled():
    """Whether ops record a graph in this thread."""
    return _mode.__dict__.get("grad", True)


class _GradMode:
    """Sets the grad mode for a ``with`` block (restoring it after) or, as a decorator
    (``@no_grad()`` or bare ``@no_grad``), for every call of a function."""

    enabled = False  # the mode inside; None leaves it as it is

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and cls is not set_grad_enabled:
            return cls()(args[0])  # bare decorator: @no_grad
        return super().__new__(cls)

    def _swap(self):
        """Enter the mode; returns what :meth:`_restore` puts back."""
        prev = is_grad_enabled()
        if self.enabled is not None:
            _mode.grad = self.enabled
        return prev

    def _restore(self, prev):
        _mode.grad = prev

    def __enter__(self):
        self._prev = self._swap()

    def __exit__(self, *exc):
        self._restore(self._prev)

    def __call__(self, fn):
        swap, restore = self._swap, self._restore

        def wrapped(*args, **kwargs):
            prev = swap()
            try:
                return fn(*args, **kwargs)
            finally:
                restore(prev)

        def generator(*args, **kwargs):  # the mode holds while the body runs, each resume
            gen = wrapped(*args, **kwargs)  # (PyTorch's rule for generator functions)
            value = None
            while True:
                prev = swap()
                try:
                    item = gen.send(value)
                except StopIteration as stop:
                    return stop.value
                finally:
                    restore(prev)
                value = yield item
        out = generator if inspect.isgeneratorfunction(fn) else wrapped
        out.__name__, out.__doc__ = fn.__name__, fn.__doc__
        out.__wrapped__ = fn
        return out


class no_grad(_GradMode):
    """Context manager (and decorator) under which no op records a graph."""


class enable_grad(_GradMode):
    """Context manager (and decorator) that turns graph recording back on inside no_grad."""

    enabled = True


class inference_mode(_GradMode):
    """PyTorch's inference_mode: ``no_grad`` plus :func:`is_inference_mode_enabled`;
    ``mode=False`` turns recording on and inference mode off, as in PyTorch. Tensors made
    inside are inference tensors (``Tensor.is_inference()``; a view or detach() of one is
    one too), refused as PyTorch refuses them outside inference mode: saved for backward by
    a recorded op (function_base), changed in place, or set to require grad (tensor_base)."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.enabled = not mode

    def _swap(self):
        global inference_seen
        prev = (is_grad_enabled(), is_inference_mode_enabled())
        _mode.grad, _mode.inference = self.enabled, self.mode
        inference_seen = inference_seen or self.mode
        return prev

    def _restore(self, prev):
        _mode.grad, _mode.inference = prev


def is_inference_mode_enabled():
    """Whether this thread is inside :class:`inference_mode`."""
    return _mode.__dict__.get("inference", False)


class set_grad_enabled(_GradMode):
    """Turn recording on or off: ``set_grad_enabled(False)`` takes effect at once (as in
    PyTorch), and used with ``with`` it restores the previous mode on exit."""

    def __init__(self, mode):
        self._prev = is_grad_enabled()
        self.enabled = bool(mode)
        _mode.grad = self.enabled

    def __enter__(self):
        _mode.grad = self.enabled

    def __call__(self, fn):
        _mode.grad = self._prev  # as a decorator it applies to calls, not to the definition
        return super().__call__(fn)


__all__ = ["enable_grad", "inference_mode", "is_inference_mode_enabled", "no_grad",
           "set_grad_enabled"]
