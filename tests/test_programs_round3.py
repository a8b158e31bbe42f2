"""Checks found while writing the round-3 tutorial programs (tests/pytorch_programs/tutorials/
unet_segmentation.py, distillation.py, recommender.py, simclr.py, sequence_tagger.py).

* The printed-line comparison's cosmetic rule (harness.COSMETIC: xpnn prints a bare dtype by
  its bare name) left a tensor's repr alone on xpnn but stripped PyTorch's, so a printed
  int32 tensor (the U-Net's predicted mask) read as a difference.
* ``torch.autograd.grad`` also fills the ``.grad`` of a tensor that ``retain_grad()`` kept
  (PyTorch 2.13 does), so a saliency taken both ways adds up; xpnn does the same.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pytorch_programs import harness  # noqa: E402

import xpnn  # noqa: E402


def _masked(text):
    return harness.cosmetic(harness.masked_lines(text))


def test_cosmetic_rule_keeps_a_tensor_repr_dtype():
    """A printed int32 tensor and a printed bare dtype compare equal after the rule."""
    mask = np.array([[0, 1], [1, 1]], dtype=np.int32)
    want = f"{torch.tensor(mask)!r}\n{torch.tensor(mask).dtype}"
    got = f"{xpnn.tensor(mask)!r}\n{xpnn.tensor(mask).dtype}".replace("xpnn", "torch")
    assert harness.masked_lines(got) == _masked(want)


def test_autograd_grad_fills_a_retained_grad(backend):
    """``autograd.grad`` on a tensor that retains its gradient also writes ``.grad`` there,
    and a following ``backward`` adds to it: values as PyTorch's (float32, 1e-6 relative)."""
    data = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)
    out = {}
    for lib in (torch, xpnn):
        w = lib.tensor(data, requires_grad=True)
        h = w * 3.0
        h.retain_grad()
        score = (h ** 2).sum()
        g, = lib.autograd.grad(score, h, retain_graph=True)
        after_grad = h.grad.clone()
        score.backward()
        out[lib.__name__] = [np.asarray(t.detach().cpu().numpy() if lib is torch else t.numpy())
                             for t in (g, after_grad, h.grad, w.grad)]
    for got, want in zip(out["xpnn"], out["torch"]):
        assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)
