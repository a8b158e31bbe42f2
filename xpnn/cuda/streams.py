"""torch.cuda's events and streams (``Event``, ``Stream``, ``stream``, ``current_stream``):
the timing code of training scripts (``start.record(); ...; end.record();
torch.cuda.synchronize(); start.elapsed_time(end)``).

On the torch backend they are torch's own; on CuPy, CuPy's events and streams behind
PyTorch's method names; without CUDA, making an event or a stream raises RuntimeError as on
a CPU build of PyTorch, and ``stream(None)`` is a context that does nothing, as there.
"""
from __future__ import annotations

import contextlib

from .. import backend as B
from .devices import _need


class Event:
    """``torch.cuda.Event``: a marker in a stream, for timing (``enable_timing=True``) and
    ordering between streams."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self._kind, lib = _need("Event")
        if self._kind == "torch":
            self._event = lib.cuda.Event(enable_timing=enable_timing, blocking=blocking,
                                         interprocess=interprocess)
        else:
            self._event = lib.cuda.Event(block=blocking, disable_timing=not enable_timing,
                                         interprocess=interprocess)

    def record(self, stream=None):
        self._event.record(_native(stream))

    def synchronize(self):
        self._event.synchronize()

    def query(self):
        """Whether the work before the event has finished."""
        return self._event.query() if self._kind == "torch" else self._event.done

    def wait(self, stream=None):
        """Make ``stream`` (default: the current one) wait for this event."""
        if self._kind == "torch":
            self._event.wait(_native(stream))
        else:
            (_native(stream) or B.optional_module("cupy").cuda.get_current_stream()) \
                .wait_event(self._event)

    def elapsed_time(self, end_event):
        """Milliseconds from this event to ``end_event`` (both recorded and finished)."""
        if self._kind == "torch":
            return self._event.elapsed_time(end_event._event)
        return B.optional_module("cupy").cuda.get_elapsed_time(self._event, end_event._event)


def _native(stream):
    return getattr(stream, "native", stream)


class Stream:
    """``torch.cuda.Stream``: a queue of GPU work; ``native`` is the library's own stream."""

    def __init__(self, device=None, priority=0):
        self._kind, lib = _need("Stream")
        if self._kind == "torch":
            self.native = lib.cuda.Stream(device, priority=priority)
        else:  # older CuPy has no priority argument: pass it only when asked for
            self.native = lib.cuda.Stream(non_blocking=True, **(
                {"priority": priority} if priority else {}))

    def synchronize(self):
        self.native.synchronize()

    def query(self):
        return self.native.query() if self._kind == "torch" else self.native.done

    def wait_event(self, event):
        self.native.wait_event(event._event)

    def record_event(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def __enter__(self):  # torch.cuda.stream(s) too
        self._ctx = stream(self)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@contextlib.contextmanager
def stream(s):
    """Within the block, GPU work goes to stream ``s``; ``None`` does nothing."""
    if s is None:
        yield None
        return
    kind, lib = _need("stream")
    native = _native(s)
    with (lib.cuda.stream(native) if kind == "torch" else native):
        yield s


def current_stream(device=None):
    """The stream GPU work goes to now (torch's, or CuPy's current stream, as ``native`` of
    an xpnn Stream)."""
    kind, lib = _need("current_stream")
    out = Stream.__new__(Stream)
    out._kind = kind
    out.native = lib.cuda.current_stream(device) if kind == "torch" else \
        lib.cuda.get_current_stream()
    return out
