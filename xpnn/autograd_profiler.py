"""``torch.autograd.profiler``: the older profiler spelling (``with
torch.autograd.profiler.profile() as prof: ...; prof.key_averages().table()``), over
:mod:`xpnn.profiler`. ``enabled=False`` profiles nothing; ``use_cuda``/``use_device``,
``use_kineto`` and ``use_cpu`` choose what PyTorch's records (xpnn times ops on the host
either way); ``emit_nvtx`` and ``emit_itt`` (ranges for NVIDIA's and Intel's tools) do
nothing here."""
from __future__ import annotations

import contextlib

from . import profiler as _profiler
from .profiler import record_function

__all__ = ["emit_itt", "emit_nvtx", "profile", "record_function"]


def profile(enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
            with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
            use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
            custom_trace_id_callback=None, post_processing_timeout_s=None,
            activity_filters=None):
    """A profiling context (``xpnn.profiler.profile``), or one that records nothing when
    ``enabled`` is False (then ``key_averages()`` is empty, as PyTorch's is)."""
    prof = _profiler.profile(record_shapes=record_shapes, profile_memory=profile_memory,
                             with_stack=with_stack, with_flops=with_flops,
                             with_modules=with_modules, acc_events=acc_events)
    return prof if enabled else _Disabled(prof)


class _Disabled(contextlib.AbstractContextManager):
    """profile(enabled=False): the block runs unprofiled; the results are empty."""

    def __init__(self, prof):
        self._prof = prof

    def __exit__(self, *exc):
        return None

    def key_averages(self, *args, **kwargs):
        return self._prof.key_averages(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._prof, name)


@contextlib.contextmanager
def emit_nvtx(enabled=True, record_shapes=False):
    yield


@contextlib.contextmanager
def emit_itt(enabled=True, record_shapes=False):
    yield
