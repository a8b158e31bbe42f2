"""NumPy's dropout masks (xpnn/functional/dropout.py): a mask of more than twice
``MASK_PIECE`` elements is drawn in pieces, each from its own generator seeded from the
caller's, on xpnn's CPU threads. The masks must not depend on the thread count, must repeat
under one seed, keep 1 - p of the entries (per piece too), and agree between the whole-mask
and keep-mask kernels; small masks come from the caller's generator as before."""
import importlib

import numpy as np
import pytest

import xpnn
from xpnn import cpu

D = importlib.import_module("xpnn.functional.dropout")  # the package's "dropout" is the op

BE = xpnn.get_backend("numpy")
BIG = (5 * D.MASK_PIECE + 5,)


def _run_on(monkeypatch, threads):
    def run_on(work, grain=1):
        return threads if work and not getattr(cpu.pool._region, "inside", False) else 1
    monkeypatch.setattr(cpu, "workers", run_on)
    monkeypatch.setattr(cpu.pool, "workers", run_on)


def _mask(shape, p, seed, kind="mask"):
    xpnn.manual_seed(seed)
    if kind == "mask":
        return D.dropout_mask(BE, shape, np.float32, p)
    return D.KEEP["numpy"](BE, shape, np.float32, p, None)


@pytest.mark.parametrize("shape", [BIG, (7, 5), (2 * D.MASK_PIECE,)])
def test_same_mask_on_one_and_three_threads(monkeypatch, shape):
    _run_on(monkeypatch, 1)
    one = _mask(shape, 0.3, 5)
    _run_on(monkeypatch, 3)
    three = _mask(shape, 0.3, 5)
    np.testing.assert_array_equal(one, three)
    np.testing.assert_array_equal(_mask(shape, 0.3, 5), three)  # repeats under a seed
    assert not np.array_equal(_mask(shape, 0.3, 6), three)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keeps_one_minus_p_in_every_piece(p):
    m = _mask(BIG, p, 1)
    assert m.dtype == np.float32 and m.shape == BIG
    assert set(np.unique(m).tolist()) == {0.0, np.float32(1 / (1 - p))}
    n = D.MASK_PIECE
    for piece in (m[:n], m[n:2 * n], m[4 * n:]):
        kept = np.mean(piece != 0)
        assert abs(kept - (1 - p)) < 5 * np.sqrt(p * (1 - p) / piece.size)
    # the pieces are not copies of one another
    assert not np.array_equal(m[:n] != 0, m[n:2 * n] != 0)


@pytest.mark.parametrize("shape", [BIG, (9, 4)])
def test_whole_mask_and_keep_mask_agree(shape):
    np.testing.assert_array_equal(_mask(shape, 0.25, 3) != 0, _mask(shape, 0.25, 3, "keep"))


def test_small_mask_is_the_callers_stream():
    """Up to twice MASK_PIECE elements: 32 raw bits of the generator per element, as
    before."""
    xpnn.manual_seed(4)
    raw = BE.generator(None).bit_generator.random_raw(3).view(np.uint32)[:5]
    want = (raw >= np.uint32(np.ceil(0.4 * 2 ** 32))).astype(np.float32) / np.float32(0.6)
    np.testing.assert_array_equal(_mask((5,), 0.4, 4), want)


def test_p_near_one_drops_everything():
    assert not _mask(BIG, 1 - 1e-12, 0).any()
    assert not _mask(BIG, 1 - 1e-12, 0, "keep").any()
