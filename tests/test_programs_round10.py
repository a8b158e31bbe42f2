"""Checks found while writing the round-10 tutorial programs (tests/pytorch_programs/tutorials/
fno_spectral.py, audio_stft.py, temperature_scaling.py, adaptive_softmax_lm.py, perceiver.py).

* ``nn.MultiheadAttention(..., kdim=..., vdim=...)`` had no ``in_proj_weight`` attribute
  (AttributeError), where torch registers it as None beside the separate q/k/v weights (and
  the q/k/v names as None when the widths are equal); the Perceiver prints it. Fixed in
  xpnn/nn/attention.py.
* The norms of a complex tensor (``Tensor.norm``, ``torch.norm``, ``linalg.vector_norm``,
  ``linalg.norm``, the Frobenius and 1/inf ``matrix_norm``) raised a DtypeError; torch takes
  the norm of the moduli, which is what a Fourier neural operator's user reads off its
  complex spectral weights. Fixed in xpnn/functional/reduce.py (norm) and
  xpnn/linalg_norms.py; the singular-value matrix norms ("nuc", 2, -2) of complex matrices
  still refuse them, and a real dtype= for a complex input is refused as torch does (it
  would drop the imaginary parts).
* The printed-line comparison's cosmetic rule (harness.COSMETIC) mapped torch's printed
  float/int/bool dtypes to xpnn's bare names but not complex ones ("torch.complex64" beside
  xpnn's "complex64", the STFT program's first line). Added to the rule.
"""
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import to_np  # noqa: E402

from pytorch_programs import harness  # noqa: E402

import xpnn  # noqa: E402

RNG = np.random.default_rng(10)
Z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))
Z[1, 2] = 0  # a zero entry: torch's gradient of |z| there is 0
TOL = {"complex64": dict(rtol=1e-5, atol=1e-6), "complex128": dict(rtol=1e-12, atol=1e-12)}


# -- MultiheadAttention's unused projection layout -------------------------------------------
@pytest.mark.parametrize("widths", [dict(), dict(kdim=5, vdim=3)])
def test_mha_registers_the_unused_layout_as_none(backend, widths):
    """The attributes torch registers as None read None, and the parameters (their names
    and shapes, in order) are torch's."""
    t = torch.nn.MultiheadAttention(8, 2, batch_first=True, **widths)
    x = xpnn.nn.MultiheadAttention(8, 2, batch_first=True, **widths)
    for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
        assert (getattr(x, name) is None) == (getattr(t, name) is None), name
    assert [(n, tuple(p.shape)) for n, p in x.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert list(x.state_dict()) == list(t.state_dict())


# -- norms of complex tensors -----------------------------------------------------------------
NORMS = {
    "tensor_norm": lambda m, z: z.norm(),
    "tensor_norm_p1_dim": lambda m, z: z.norm(p=1, dim=1),
    "torch_norm_inf": lambda m, z: m.norm(z, p=float("inf"), dim=0),
    "vector_norm": lambda m, z: m.linalg.vector_norm(z, dim=-1, keepdim=True),
    "vector_norm_3": lambda m, z: m.linalg.vector_norm(z, ord=3),
    "linalg_norm": lambda m, z: m.linalg.norm(z),
    "matrix_norm_fro": lambda m, z: m.linalg.matrix_norm(z),
    "matrix_norm_1": lambda m, z: m.linalg.matrix_norm(z, ord=1),
}


def _run(m, name, dtype):
    z = m.tensor(Z, dtype=getattr(m, dtype), requires_grad=True)
    out = NORMS[name](m, z)
    w = m.tensor(np.random.default_rng(3).standard_normal(tuple(out.shape)), dtype=out.dtype)
    (out * w).sum().backward()
    return out, z.grad


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else to_np(t)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", sorted(NORMS))
def test_complex_norms_match_torch(backend, name, dtype):
    """Value, real dtype and shape, and the complex gradient, as torch 2.13's (complex64 to
    1e-5 relative, a few float32 eps; complex128 to 1e-12)."""
    out, grad = _run(xpnn, name, dtype)
    t_out, t_grad = _run(torch, name, dtype)
    assert xpnn.backend.dtype_name(out.dtype) == str(t_out.dtype).split(".")[-1]
    assert tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(_np(out), _np(t_out), **TOL[dtype])
    assert xpnn.backend.dtype_name(grad.dtype) == dtype
    np.testing.assert_allclose(_np(grad), _np(t_grad), **TOL[dtype])


@pytest.mark.parametrize("name", sorted(NORMS))
def test_complex_norms_gradcheck(host_backend, name):
    """Finite differences in complex128, away from the zero entry (where |z| has no
    derivative)."""
    z = xpnn.tensor(Z + 0.5, dtype=xpnn.complex128, requires_grad=True)
    assert xpnn.gradcheck(lambda t: NORMS[name](xpnn, t), z)


def test_complex_nuclear_norm_still_refuses():
    """The singular-value norms of a complex matrix are not those of its moduli: refused."""
    with pytest.raises(TypeError, match="complex64"):
        xpnn.linalg.matrix_norm(xpnn.tensor(Z, dtype=xpnn.complex64), ord="nuc")


def test_cosmetic_rule_maps_complex_dtypes():
    """A printed complex dtype compares equal after the rule, as the real ones do, and a
    tensor repr's ", dtype=" is left as it is."""
    for dtype in ("complex64", "complex128"):
        t = torch.zeros(2, dtype=getattr(torch, dtype))
        x = xpnn.zeros(2, dtype=getattr(xpnn, dtype))
        want = harness.cosmetic(harness.masked_lines(f"spectrogram {t.dtype}"))
        got = harness.masked_lines(f"spectrogram {x.dtype}")
        assert got == want
    line = harness.masked_lines("tensor([0.+0.j], dtype=torch.complex128)")[0]
    for pattern, repl in harness.COSMETIC:
        assert re.sub(pattern, repl, line) == line


def test_complex_norm_refuses_a_real_dtype():
    """``dtype=float32`` for a complex input would drop the imaginary parts: torch refuses
    it (RuntimeError), and so does xpnn; a complex dtype gives the real norm of its width."""
    z = np.array([3 + 4j, 1j])
    with pytest.raises(RuntimeError):
        torch.linalg.vector_norm(torch.tensor(z), dtype=torch.float32)
    with pytest.raises(RuntimeError, match="dtype should be complex"):
        xpnn.linalg.vector_norm(xpnn.tensor(z), dtype=xpnn.float32)
    out = xpnn.linalg.vector_norm(xpnn.tensor(z, dtype=xpnn.complex64), dtype=xpnn.complex128)
    assert xpnn.backend.dtype_name(out.dtype) == "float64"
    np.testing.assert_allclose(to_np(out), np.sqrt(26.0), rtol=1e-15)
