"""torch.backends.cuda's switches: ``matmul.allow_tf32`` (the float32 matmul precision, as
in PyTorch: True is "high", False "highest"), the reduced-precision reduction flags, and the
scaled-dot-product-attention kernel switches (functional/sdpa_backends.py: xpnn has one
attention kernel, which runs unless all four are off, as PyTorch finds none then)."""
from .. import _settings
from ..functional.sdpa_backends import ENABLED, SDPBackend


class _Matmul:
    """``torch.backends.cuda.matmul``: ``allow_tf32`` reads and sets
    ``xpnn.set_float32_matmul_precision``; the fp16/bf16 reduction flags are recorded."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self):
        return _settings.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value):
        _settings.set_float32_matmul_precision("high" if value else "highest")


matmul = _Matmul()

_SDP = {"flash": SDPBackend.FLASH_ATTENTION, "mem_efficient": SDPBackend.EFFICIENT_ATTENTION,
        "math": SDPBackend.MATH, "cudnn": SDPBackend.CUDNN_ATTENTION}


def is_built():
    """Whether xpnn can run on CUDA here (CuPy or torch with a GPU)."""
    from .. import cuda
    return cuda.is_available()


def enable_flash_sdp(enabled):
    ENABLED[_SDP["flash"]] = bool(enabled)


def enable_mem_efficient_sdp(enabled):
    ENABLED[_SDP["mem_efficient"]] = bool(enabled)


def enable_math_sdp(enabled):
    ENABLED[_SDP["math"]] = bool(enabled)


def enable_cudnn_sdp(enabled):
    ENABLED[_SDP["cudnn"]] = bool(enabled)


def flash_sdp_enabled():
    return ENABLED[_SDP["flash"]]


def mem_efficient_sdp_enabled():
    return ENABLED[_SDP["mem_efficient"]]


def math_sdp_enabled():
    return ENABLED[_SDP["math"]]


def cudnn_sdp_enabled():
    return ENABLED[_SDP["cudnn"]]