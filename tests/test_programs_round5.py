"""Regressions found by the fifth round of PyTorch programs (tests/pytorch_programs/
tutorials/: nanogpt, ddpm, vqvae, style_inversion, gaussian_process), each against torch."""
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402


@pytest.fixture
def restore_precision():
    saved = [lib.get_float32_matmul_precision() for lib in (torch, xpnn)]
    yield
    torch.set_float32_matmul_precision(saved[0])
    xpnn.set_float32_matmul_precision(saved[1])


def test_backends_cuda_matmul_allow_tf32(restore_precision):
    """nanoGPT's train.py sets torch.backends.cuda.matmul.allow_tf32 = True: it is the float32
    matmul precision ("high" when True, "highest" when False), read back as PyTorch does."""
    seen = {}
    for lib in (torch, xpnn):
        lib.set_float32_matmul_precision("highest")
        got = [lib.backends.cuda.matmul.allow_tf32]
        lib.backends.cuda.matmul.allow_tf32 = True
        got += [lib.backends.cuda.matmul.allow_tf32, lib.get_float32_matmul_precision()]
        lib.backends.cuda.matmul.allow_tf32 = False
        got += [lib.backends.cuda.matmul.allow_tf32, lib.get_float32_matmul_precision()]
        got += [lib.backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
                lib.backends.cuda.matmul.allow_bf16_reduced_precision_reduction]
        seen[lib.__name__] = got
    assert seen["xpnn"] == seen["torch"]
    assert seen["xpnn"] == [False, True, "high", False, "highest", True, True]


def test_backends_cuda_sdp_toggles():
    """torch.backends.cuda's attention-kernel toggles are accepted and read back."""
    cuda = xpnn.backends.cuda
    assert cuda.flash_sdp_enabled() == torch.backends.cuda.flash_sdp_enabled()
    cuda.enable_flash_sdp(False)
    try:
        assert cuda.flash_sdp_enabled() is False
    finally:
        cuda.enable_flash_sdp(True)
    assert cuda.math_sdp_enabled() and cuda.mem_efficient_sdp_enabled()
    assert cuda.is_built() == xpnn.cuda.is_available()
