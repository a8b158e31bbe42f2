"""Checks found while writing the round-22b tutorial programs (tests/pytorch_programs/
tutorials/matrix_completion_nuclear.py, bpe_tokenizer_lm.py, ode_adjoint_method.py,
moe_switch_capacity.py, int8_quantized_linear.py).

* ``torch.linalg.svd(A, full_matrices=False, driver=None)`` and
  ``torch.linalg.svdvals(A, driver=None)``, as code written for GPUs passes them, raised
  ``TypeError: unexpected keyword argument 'driver'``: xpnn's svd and svdvals took no
  ``driver``. Both now take it keyword-only as PyTorch does
  (xpnn/functional/decomp_orth.py, ``_svd_driver``): None anywhere; "gesvd", "gesvdj"
  or "gesvda" on a CUDA tensor (the backend's own SVD runs, the factors being the same);
  a driver on a host tensor is refused as PyTorch refuses it, and an unknown name is named.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402


def test_svd_takes_pytorchs_driver_keyword(backend):
    """linalg.svd / svdvals with driver=None: the singular values and the reconstruction
    of a soft-thresholded matrix (and its gradient) agree with PyTorch's."""
    a = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
    out = {}
    for lib in (torch, xpnn):
        x = lib.tensor(a, requires_grad=True)
        U, S, Vh = lib.linalg.svd(x, full_matrices=False, driver=None)
        shrunk = U @ lib.diag_embed(lib.clamp(S - 0.5, min=0)) @ Vh
        shrunk.pow(2).sum().backward()
        out[lib.__name__] = (S, lib.linalg.svdvals(x, driver=None), shrunk, x.grad)
    for got, want in zip(out["xpnn"], out["torch"]):
        np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_svd_driver_refused_as_pytorch_refuses_it():
    """A driver on a host tensor is a RuntimeError naming the function, as on PyTorch; an
    unknown driver names the accepted ones."""
    a = np.eye(3, dtype=np.float32)
    with pytest.raises(RuntimeError, match="only supported on CUDA"):
        torch.linalg.svd(torch.tensor(a), driver="gesvd")
    with pytest.raises(RuntimeError, match=r"linalg\.svd: keyword argument `driver=` is only "
                                           r"supported on CUDA inputs, got driver='gesvd'"):
        xpnn.linalg.svd(xpnn.tensor(a), driver="gesvd")
    with pytest.raises(RuntimeError, match=r"linalg\.svdvals: keyword argument `driver=`"):
        xpnn.linalg.svdvals(xpnn.tensor(a), driver="gesvdj")
    with pytest.raises(ValueError, match=r"linalg\.svd: driver must be None, 'gesvd', "
                                         r"'gesvdj' or 'gesvda', got 'lapack'"):
        xpnn.linalg.svd(xpnn.tensor(a), driver="lapack")
    with pytest.raises(TypeError):
        xpnn.linalg.svd(xpnn.tensor(a), False, None)      # keyword-only, as PyTorch's
