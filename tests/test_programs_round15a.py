"""Checks found while writing the round-15a tutorial programs (tests/pytorch_programs/
tutorials/gpt_sampling.py, conformer_ctc.py, graphsage_sampling.py, wide_deep_ctr.py,
mae_pretrain.py, siren_fit.py).

* ``nn.EmbeddingBag(..., max_norm=...)`` and ``F.embedding_bag(..., max_norm=...)`` raised
  NotImplementedError (the click-through program bounds its tag embeddings so), though
  ``nn.Embedding`` already renormalised its rows. The bag now renormalises, in place and
  outside the graph, every row its input reads (the padding id's and the ids past the last
  offset too, as PyTorch's ``embedding_renorm_`` over the whole input) before the bags are
  reduced, in every mode, with or without offsets, ``per_sample_weights`` or a sparse
  gradient; ``max_norm`` and ``norm_type`` show in the repr as PyTorch's do, and
  ``EmbeddingBag.from_pretrained(max_norm=)`` passes it on.
* The shape methods that take their sizes as ``*args`` refused PyTorch's keyword form: the
  MAE reference code's ``imgs.reshape(shape=(N, C, h, p, w, p))`` (the masked-autoencoder
  program's patchify) raised TypeError, as did ``view(size=)``, ``view(dtype=)``,
  ``expand(size=)``, ``repeat(repeats=)``, ``permute(dims=)``, ``tile(dims=)``,
  ``flip(dims=)``, ``resize_(size=)``, ``new_zeros/new_ones/new_empty(size=)`` and the
  functions ``torch.reshape(x, shape=)`` and ``torch.permute(x, dims=)``. Each now takes
  the keyword too (xpnn/functional/shape.py's ``_sizes``), and refuses both forms at once.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402

RNG = np.random.default_rng(15)
W = (RNG.standard_normal((10, 4)) * 1.5).astype(np.float32)   # most rows' norms above 1
IDS = [1, 2, 4, 5, 4, 3, 2, 9]
OFFSETS = [0, 2, 2, 5]            # an empty bag; the last bag runs to the end


def _bag_both(mode, two_d, **kwargs):
    """The same EmbeddingBag call on xpnn and on torch: output, weight gradient, the
    weight after the call, and the repr."""
    out = {}
    for lib in (xpnn, torch):
        bag = lib.nn.EmbeddingBag(10, 4, mode=mode, **kwargs)
        with lib.no_grad():
            bag.weight.copy_(lib.tensor(W))
        if two_d:
            y = bag(lib.tensor([[1, 2, 4], [5, 4, 3]]))
        else:
            y = bag(lib.tensor(IDS), lib.tensor(OFFSETS))
        weights = lib.arange(y.numel(), dtype=lib.float32).reshape(tuple(y.shape))
        (y * weights).sum().backward()
        grad = bag.weight.grad
        grad = grad.to_dense() if grad.is_sparse else grad
        out[lib.__name__] = (to_np(y.detach()) if lib is xpnn else y.detach().numpy(),
                             to_np(grad) if lib is xpnn else grad.numpy(),
                             to_np(bag.weight.detach()) if lib is xpnn
                             else bag.weight.detach().numpy(),
                             repr(bag).replace("xpnn", "torch"))
    return out["xpnn"], out["torch"]


@pytest.mark.parametrize("two_d", [False, True], ids=["offsets", "2d"])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_max_norm_matches_torch(backend, mode, two_d):
    """The rows read are scaled to max_norm in the table, before the bag's reduction:
    outputs, gradients and the renormalised table equal PyTorch's, in every mode."""
    got, want = _bag_both(mode, two_d, max_norm=1.0)
    for g, w in zip(got[:3], want[:3]):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    assert got[3] == want[3]
    read = sorted(set(IDS if not two_d else [1, 2, 4, 5, 3]))
    np.testing.assert_allclose(np.linalg.norm(got[2][read], axis=1).max(), 1.0, rtol=1e-5)
    untouched = [i for i in range(10) if i not in read]
    np.testing.assert_array_equal(got[2][untouched], W[untouched])


def test_embedding_bag_max_norm_options_match_torch(backend):
    """norm_type=1 with a padding id (renormalised too, as PyTorch's), and a sparse
    gradient: the same outputs, gradients, tables and reprs as PyTorch's."""
    for kwargs in (dict(mode="mean", max_norm=2.0, norm_type=1.0, padding_idx=4),
                   dict(mode="sum", max_norm=1.0, sparse=True)):
        got, want = _bag_both(kwargs.pop("mode"), False, **kwargs)
        for g, w in zip(got[:3], want[:3]):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        assert got[3] == want[3]


def test_functional_embedding_bag_max_norm(backend):
    """F.embedding_bag(max_norm=) with per_sample_weights renormalises the weight it is
    given, and from_pretrained(max_norm=) passes it on, as PyTorch's."""
    res = {}
    for lib in (xpnn, torch):
        w = lib.tensor(W)
        y = lib.nn.functional.embedding_bag(lib.tensor([1, 2, 3]), w, lib.tensor([0, 1]),
                                            max_norm=1.5, mode="sum",
                                            per_sample_weights=lib.tensor([1.0, 2.0, 3.0]))
        bag = lib.nn.EmbeddingBag.from_pretrained(lib.tensor(W), max_norm=1.0, mode="sum")
        z = bag(lib.tensor([[1, 2]]))
        res[lib.__name__] = [np.asarray(to_np(t) if lib is xpnn else t.numpy())
                             for t in (y, w, z, bag.weight.detach())]
    for g, w in zip(res["xpnn"], res["torch"]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_embedding_bag_max_norm_refused_when_negative():
    """A negative max_norm is refused at construction, naming the class and the value
    (PyTorch accepts it and renormalises every row read to a negative norm's scale)."""
    with pytest.raises(ValueError, match="EmbeddingBag: max_norm must be a number >= 0 or "
                                         "None, got -1.0"):
        xpnn.nn.EmbeddingBag(10, 4, max_norm=-1.0)


_KEYWORD_CALLS = {
    "reshape(shape=)": lambda lib, x: x.reshape(shape=(2, 3, 4)),
    "view(size=)": lambda lib, x: x.view(size=(-1, 4)),
    "view(dtype=)": lambda lib, x: x.view(dtype=lib.float32),
    "expand(size=)": lambda lib, x: x[:, :1].expand(size=(2, 4, 6)),
    "repeat(repeats=)": lambda lib, x: x.repeat(repeats=(2, 1, 1)),
    "permute(dims=)": lambda lib, x: x.permute(dims=(2, 0, 1)),
    "tile(dims=)": lambda lib, x: x.tile(dims=(2,)),
    "flip(dims=)": lambda lib, x: x.flip(dims=(0, 2)),
    "new_zeros(size=)": lambda lib, x: x.new_zeros(size=(2, 3)),
    "new_ones(size=)": lambda lib, x: x.new_ones(size=(3,)),
    "new_empty(size=)": lambda lib, x: x.new_empty(size=(3, 1)).fill_(2.0),
    "resize_(size=)": lambda lib, x: x.detach().clone().resize_(size=(6, 4)),
    "torch.reshape(shape=)": lambda lib, x: lib.reshape(x, shape=(24,)),
    "torch.permute(dims=)": lambda lib, x: lib.permute(x, dims=(1, 2, 0)),
}


@pytest.mark.parametrize("call", list(_KEYWORD_CALLS))
def test_shape_methods_take_their_sizes_by_keyword(backend, call):
    """Each shape method and function gives, with its sizes by keyword, PyTorch's values,
    shape and dtype; the gradient of the reshape-by-keyword flows back."""
    x_np = RNG.standard_normal((2, 1, 6)).astype(np.float32).repeat(2, axis=1)   # (2, 2, 6)
    fn = _KEYWORD_CALLS[call]
    x = xpnn.tensor(x_np, requires_grad=True)
    got = fn(xpnn, x)
    want = fn(torch, torch.tensor(x_np, requires_grad=True))
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(to_np(got.detach()), want.detach().numpy())
    if got.requires_grad:
        got.sum().backward()
        np.testing.assert_array_equal(to_np(x.grad).shape, x_np.shape)


def test_mae_reference_patchify_on_xpnn(backend):
    """The MAE reference code's patchify and unpatchify (einsum between reshape(shape=)
    calls) match PyTorch's and invert each other."""
    imgs_np = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)

    def patchify(lib, imgs, p=4):
        h = w = imgs.shape[2] // p
        x = imgs.reshape(shape=(imgs.shape[0], 3, h, p, w, p))
        x = lib.einsum("nchpwq->nhwpqc", x)
        return x.reshape(shape=(imgs.shape[0], h * w, p ** 2 * 3))

    def unpatchify(lib, x, p=4):
        h = w = int(x.shape[1] ** 0.5)
        x = x.reshape(shape=(x.shape[0], h, w, p, p, 3))
        x = lib.einsum("nhwpqc->nchpwq", x)
        return x.reshape(shape=(x.shape[0], 3, h * p, h * p))

    got = patchify(xpnn, xpnn.tensor(imgs_np))
    want = patchify(torch, torch.tensor(imgs_np))
    np.testing.assert_array_equal(to_np(got), want.numpy())
    np.testing.assert_array_equal(to_np(unpatchify(xpnn, got)), imgs_np)


def test_shape_keyword_and_sizes_together_refused():
    """Sizes given both ways are refused naming the method and the argument, as PyTorch
    refuses them."""
    x = xpnn.ones(4)
    with pytest.raises(TypeError, match=r"reshape\(\): got multiple values for argument "
                                        r"'shape'"):
        x.reshape(2, shape=(2, 2))
    with pytest.raises(TypeError, match=r"permute\(\): got multiple values for argument "
                                        r"'dims'"):
        xpnn.permute(x, 0, dims=(0,))
    with pytest.raises(TypeError, match=r"view\(\): takes a size or a dtype, not both"):
        x.view(4, dtype=xpnn.int32)
    with pytest.raises(TypeError):
        torch.ones(4).reshape(2, shape=(2, 2))
