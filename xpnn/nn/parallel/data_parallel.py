"""DataParallel: PyTorch's single-process wrapper, on one device.

PyTorch's ``nn.DataParallel`` splits each batch over the GPUs of one process and runs a
replica of the model on each; without several CUDA devices it simply calls the module.
xpnn runs the module where its parameters are (no replication), so programs that wrap their
model unconditionally run unchanged, with the same results, state_dict keys
(``module.``-prefixed) and ``.module`` attribute. For several devices use
:class:`~xpnn.nn.parallel.DistributedDataParallel`, one process per device.
"""
from __future__ import annotations

from ..module import Module


class DataParallel(Module):
    """Wrap ``module``: calling the wrapper calls it (one device; see the module docstring).

    Args:
        module: the model (an ``nn.Module``, or any callable); ``self.module`` after
            wrapping.
        device_ids, output_device: accepted for PyTorch's signature (kept as attributes).
        dim: the batch dimension PyTorch would split (an int; kept as an attribute).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()  # any callable is accepted, as by PyTorch without GPUs
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"DataParallel: dim must be an int, got {dim!r}")
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
