"""PyTorch's wider functional and nn surface (padding, resampling, distances, gather/scatter,
sorting, rearranging, einsum, more activations and losses): what the case table in cases.py
cannot say (integer results, indices, randomness, error messages, reprs, deprecated
arguments), and that every op and module of these files has a case there."""
import inspect
import itertools
import warnings

import numpy as np
import pytest
from cases import ELSEWHERE, LAYERS, OPS
from conftest import needs_torch, optional_torch, to_np

import xpnn
import xpnn.functional as F
from xpnn import nn
from xpnn.backend import dtype_name

torch, TF = optional_torch()  # None without PyTorch: its comparisons skip

FUNCTIONAL = ("padding", "distance", "gather", "sorting", "rearrange", "einsum", "upsampling",
              "fold")
MODULES = ("padding", "distance", "pixelshuffle", "upsampling", "flatten", "fold")
EPS32 = float(np.finfo(np.float32).eps)


def test_every_op_and_module_here_has_a_case():
    """Each public function of the files above is covered by an OPS case (or an ELSEWHERE
    entry), each Module class by a LayerCase."""
    covered = {getattr(F, c.name.split(":")[0]) for c in OPS} | {getattr(F, n)
                                                                 for n in ELSEWHERE}
    ours = {n for n in F.__all__ if callable(getattr(F, n)) and getattr(
        getattr(F, n), "__module__", "").rsplit(".", 1)[-1] in FUNCTIONAL}
    assert len(ours) >= 28
    assert {n for n in ours if getattr(F, n) not in covered} == set()
    layers = {n for n in nn.__all__ if isinstance(getattr(nn, n), type)
              and getattr(nn, n).__module__.rsplit(".", 1)[-1] in MODULES}
    assert {n for n in layers if n not in {c.name.split(":")[0] for c in LAYERS}} == set()


# -- results the gradient table cannot check ------------------------------------------------
@needs_torch
def test_one_hot(backend):
    y = np.array([[0, 3], [2, 2]])
    out = F.one_hot(xpnn.tensor(y, backend=backend))
    np.testing.assert_array_equal(out.numpy(), TF.one_hot(torch.tensor(y)).numpy())
    assert dtype_name(out.dtype) == "int64" and out.shape == (2, 2, 4)
    assert F.one_hot(xpnn.tensor(y, backend=backend), 6).shape == (2, 2, 6)
    with pytest.raises(TypeError, match="one_hot: expected an integer"):
        F.one_hot(xpnn.tensor([0.0, 1.0], backend=backend))
    if xpnn.tensor(y, backend=backend)._be.on_host:  # host arrays: values are checked
        with pytest.raises(ValueError, match="smaller than num_classes 3, got 3"):
            F.one_hot(xpnn.tensor(y, backend=backend), 3)
        with pytest.raises(ValueError, match="non-negative, got -1"):
            F.one_hot(xpnn.tensor([-1, 0], backend=backend))


@needs_torch
def test_sort_argsort_topk_indices(backend):
    """Indices are int64 and equal PyTorch's; equal values keep their order (stable), also
    in descending order."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((3, 5))
    x, t = xpnn.tensor(h, backend=backend), torch.tensor(h)
    for dim, desc in [(-1, False), (0, True), (1, True)]:
        v, i = F.sort(x, dim, descending=desc)
        tv, ti = torch.sort(t, dim, descending=desc)
        np.testing.assert_array_equal(to_np(i), ti.numpy())
        np.testing.assert_array_equal(v.numpy(), tv.numpy().astype(np.float32))
        assert dtype_name(i.dtype) == "int64"
        np.testing.assert_array_equal(F.argsort(x, dim, desc).numpy(), ti.numpy())
    for k, largest in [(1, True), (3, False), (5, True), (0, True)]:
        v, i = F.topk(x, k, largest=largest)
        tv, ti = torch.topk(t, k, largest=largest)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
    ties = np.array([2.0, 1.0, 2.0, 1.0, 3.0, 1.0])
    for desc in (False, True):
        got = F.sort(xpnn.tensor(ties, backend=backend), descending=desc, stable=True)[1]
        want = torch.sort(torch.tensor(ties), descending=desc, stable=True)[1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(ValueError, match=r"topk: k must be an int in \[0, 5\]"):
        F.topk(x, 6)


def test_gumbel_softmax(backend):
    """Soft samples are distributions; hard ones are one-hot with the soft sample's gradient
    (straight-through); the draw follows manual_seed."""
    h = np.random.default_rng(1).standard_normal((4, 5))
    x = xpnn.tensor(h, backend=backend, requires_grad=True)
    xpnn.manual_seed(7)
    soft = F.gumbel_softmax(x, tau=0.5)
    np.testing.assert_allclose(soft.numpy().sum(-1), 1, rtol=8 * EPS32)
    xpnn.manual_seed(7)
    hard = F.gumbel_softmax(x, tau=0.5, hard=True)
    hv = hard.numpy()
    np.testing.assert_array_equal(hv.argmax(-1), soft.numpy().argmax(-1))
    np.testing.assert_allclose(hv, np.eye(5)[hv.argmax(-1)], atol=4 * EPS32)
    w = xpnn.tensor(np.arange(20.0).reshape(4, 5), backend=backend)
    (hard * w).sum().backward()
    g_hard = to_np(x.grad)
    x.grad = None
    (soft * w).sum().backward()
    np.testing.assert_allclose(g_hard, to_np(x.grad), rtol=1e-5, atol=1e-5)
    xpnn.manual_seed(8)
    assert not np.allclose(F.gumbel_softmax(x, tau=0.5).numpy(), soft.numpy())


@needs_torch
def test_integer_inputs_follow_pytorch(backend):
    """Integers stay integers where PyTorch keeps them, become the default float where it
    promotes, and raise TypeError where it refuses."""
    h = np.array([[-3, 1, 2], [4, -5, 7]])
    x, t = xpnn.tensor(h, backend=backend), torch.tensor(h)
    same = [(lambda m: m.hardtanh(x, -2, 3), lambda: TF.hardtanh(t, -2, 3)),
            (lambda m: m.relu6(x), lambda: TF.relu6(t)),
            (lambda m: m.threshold(x, 1, 9), lambda: TF.threshold(t, 1, 9)),
            (lambda m: m.pad(x, (1, 2), value=5), lambda: TF.pad(t, (1, 2), value=5)),
            (lambda m: m.pad(x[None], (2, 1), "reflect"),
             lambda: TF.pad(t[None], (2, 1), mode="reflect")),
            (lambda m: m.flip(x, (1,)), lambda: torch.flip(t, (1,))),
            (lambda m: m.tril(x), lambda: torch.tril(t)),
            (lambda m: m.einsum("ij->j", x), lambda: torch.einsum("ij->j", t)),
            (lambda m: m.topk(x, 2)[0], lambda: torch.topk(t, 2)[0]),
            (lambda m: m.gather(x, 1, xpnn.tensor([[0], [2]], backend=backend)),
             lambda: torch.gather(t, 1, torch.tensor([[0], [2]]))),
            (lambda m: m.softsign(x), lambda: TF.softsign(t)),
            (lambda m: m.tanhshrink(x), lambda: TF.tanhshrink(t)),
            (lambda m: m.pairwise_distance(x, x[:1]), lambda: TF.pairwise_distance(t, t[:1]))]
    for ours, theirs in same:
        got, want = ours(F), theirs()
        assert dtype_name(got.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=4 * EPS32, atol=4 * EPS32)
    for op in (F.mish, F.selu, F.celu, F.logsigmoid, F.hardswish, F.hardsigmoid, F.glu,
               F.cosine_similarity.__call__ and (lambda a: F.cosine_similarity(a, a)),
               F.normalize, lambda a: F.interpolate(a[None], size=4),
               lambda a: F.kl_div(a, a, reduction="sum"), lambda a: F.smooth_l1_loss(a, a)):
        with pytest.raises(TypeError):
            op(x)


@needs_torch
def test_scatter_src_larger_than_index_and_repeated_positions(backend):
    rng = np.random.default_rng(2)
    h, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    idx = np.array([[0, 0, 2, 1], [2, 2, 2, 0]])
    x = xpnn.tensor(h, backend=backend, requires_grad=True)
    s = xpnn.tensor(src, backend=backend, requires_grad=True)
    out = F.scatter_add(x, 0, xpnn.tensor(idx, backend=backend), s)
    ref = torch.scatter_add(torch.tensor(h), 0, torch.tensor(idx), torch.tensor(src))
    np.testing.assert_allclose(out.numpy(), ref.numpy().astype(np.float32), rtol=4 * EPS32)
    out.sum().backward()
    assert to_np(s.grad)[:2, :4].tolist() == np.ones((2, 4)).tolist()
    assert to_np(s.grad)[2:].sum() == 0 and to_np(s.grad)[:, 4:].sum() == 0
    np.testing.assert_array_equal(to_np(x.grad), np.ones((3, 4)))


def _ce_runs(dtype, seed=0):
    """Cross-entropy with integer labels, forward and gradient, over reductions, class
    weights, an ignored row or none (NumPy's fast path) and a -inf logit."""
    rng, outs = np.random.default_rng(seed), []
    for reduction, ignored in itertools.product(("mean", "sum", "none"), (True, False)):
        for weight in (None, rng.random(7).astype(dtype)):
            X = (rng.standard_normal((13, 7)) * 5).astype(dtype)
            X[2, 3] = -np.inf
            t = rng.integers(0, 7, 13)
            if ignored:
                t[4] = -100
            x = xpnn.from_numpy(X).requires_grad_()
            loss = F.cross_entropy(x, xpnn.from_numpy(t), reduction=reduction,
                                   weight=None if weight is None else xpnn.from_numpy(weight))
            loss.backward(xpnn.ones_like(loss) if reduction == "none" else None)
            outs += [loss.detach().numpy().reshape(-1), x.grad.numpy().reshape(-1)]
    x = xpnn.from_numpy(X).requires_grad_()
    y = F.log_softmax(x, dim=1)
    y.backward(xpnn.from_numpy(rng.standard_normal(X.shape).astype(dtype)))
    return outs + [y.detach().numpy().reshape(-1), x.grad.numpy().reshape(-1)]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("split", [False, True])
def test_numpy_softmax_gradient_equals_portable_bitwise(monkeypatch, dtype, split):
    """NumPy's log softmax, cross-entropy labels and gradient (over blocks of rows on the
    CPU threads: ``split`` cuts the 13 rows in 3) give the portable code's bits."""
    from xpnn import cpu
    from xpnn.functional import activation, loss
    if split:
        monkeypatch.setattr(cpu.pool, "workers", lambda work, grain=1: 3)
    native = _ce_runs(dtype)
    monkeypatch.setattr(loss, "SOFTMAX_GRAD", {})
    monkeypatch.setattr(loss, "CE_LABELS", {})
    monkeypatch.setattr(activation, "LOG_SOFTMAX", {})
    for a, b in zip(native, _ce_runs(dtype)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


@needs_torch
def test_native_and_portable_scatter_adds_agree(backend, portable_only):
    """The ops whose backward scatter-adds give the same gradients with the portable
    Array API scatter-add (the native tables emptied) as the table's cases expect."""
    rng = np.random.default_rng(3)
    h = rng.standard_normal((2, 3, 4))
    idx = np.array([[[0, 2, 1, 1], [2, 2, 0, 1]]] * 2)
    for ours, theirs in [
            (lambda a: F.gather(a, 1, xpnn.tensor(idx, backend=backend)),
             lambda a: torch.gather(a, 1, torch.tensor(idx))),
            (lambda a: F.pad(a, (3, 2), "reflect"), lambda a: TF.pad(a, (3, 2), mode="reflect")),
            (lambda a: F.interpolate(a, size=7, mode="linear"),
             lambda a: TF.interpolate(a, size=7, mode="linear")),
            (lambda a: F.topk(a, 2, 1).values, lambda a: torch.topk(a, 2, 1).values)]:
        x = xpnn.tensor(h, backend=backend, dtype="float64", requires_grad=True)
        t = torch.tensor(h, requires_grad=True)
        y, r = ours(x), theirs(t)
        w = rng.standard_normal(y.shape)
        (y * xpnn.tensor(w, backend=backend, dtype="float64")).sum().backward()
        (r * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@needs_torch
def test_pad_and_interpolate_geometry_match_pytorch():
    """Many pad widths (negative ones crop) and resampling sizes, against PyTorch in float32:
    the chosen source positions must be the same, so nearest results are bit-identical."""
    h = np.arange(2 * 3 * 5, dtype=np.float32).reshape(1, 2, 3, 5)
    x, t = xpnn.tensor(h), torch.tensor(h)
    for mode in ("constant", "reflect", "replicate", "circular"):
        for p in [(1, 2, 0, 1), (-1, 3, 2, -2), (4, 0, 2, 2), (0, -3, -1, 0), (2, 2, 1, 1)]:
            if mode == "circular" and min(p[2:]) < 0:
                continue  # PyTorch 2.x returns uninitialised memory there (cropping dim -2)
            try:
                want = TF.pad(t, p, mode=mode).numpy()
            except RuntimeError:
                with pytest.raises(ValueError, match="pad:"):
                    F.pad(x, p, mode)
                continue
            np.testing.assert_array_equal(F.pad(x, p, mode).numpy(), want,
                                          err_msg=f"{mode} {p}")
    line = np.arange(7, dtype=np.float32).reshape(1, 1, 7) ** 1.5
    x, t = xpnn.tensor(line), torch.tensor(line)
    for mode in ("nearest", "nearest-exact", "linear"):
        for kw in [{"size": n} for n in range(1, 16)] + [
                {"scale_factor": s} for s in (0.3, 0.5, 1 / 3, 1.1, 1.5, 2.0, 2.4, 3.0)] + [
                {"scale_factor": 0.7, "recompute_scale_factor": True}]:
            want = TF.interpolate(t, mode=mode, **kw).numpy()
            got = F.interpolate(x, mode=mode, **kw).numpy()
            if mode == "linear":
                np.testing.assert_allclose(got, want, rtol=4 * EPS32, atol=16 * EPS32)
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{mode} {kw}")


# -- errors name the op, the argument and the value -------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda x: F.pad(x, (1,)), ValueError, "divisible by 2"),
    (lambda x: F.pad(x, (1, 1), "wrap"), ValueError, "mode must be one of"),
    (lambda x: F.pad(x, (3, 0), "reflect"), ValueError, r"reflect padding \(3, 0\) of dim 2"),
    (lambda x: F.pad(x, (1, 1), "reflect", value=2.0), ValueError, "does not take a value"),
    (lambda x: F.pad(x, (-3, -3)), ValueError, "negative output size"),
    (lambda x: F.interpolate(x, size=4, scale_factor=2), ValueError, "exactly one of"),
    (lambda x: F.interpolate(x, size=4, align_corners=True), ValueError,
     "align_corners can only be set"),
    (lambda x: F.interpolate(x, size=4, mode="bilinear"), ValueError, "needs a 4-D input"),
    (lambda x: F.interpolate(x, size=4, mode="bicubic"), NotImplementedError, "bicubic"),
    (lambda x: F.interpolate(x, size=4, antialias=True), ValueError,
     "antialias=True is restricted to the modes bilinear, bicubic, lanczos"),
    (lambda x: F.interpolate(x[None], size=4, mode="nearest", antialias=True), ValueError,
     r"got mode='nearest' and shape \(1, 2, 3, 3\)"),
    (lambda x: F.interpolate(x[None], size=2, mode="lanczos"), ValueError,
     "needs antialias=True"),
    (lambda x: F.interpolate(x[None], size=2, mode="lanczos", antialias=True,
                             align_corners=True), ValueError, "does not support align_corners"),
    (lambda x: F.gather(x, 1, xpnn.tensor([[[3]]])), IndexError, "index 3 is out of bounds"),
    (lambda x: F.gather(x, 1, xpnn.tensor([[0]])), ValueError, "as many dims as the input"),
    (lambda x: F.gather(x, 1, xpnn.tensor([[[0.5]]])), TypeError, "integer tensor"),
    (lambda x: F.prelu(x, xpnn.tensor([0.1, 0.2])), ValueError, "one per channel"),
    (lambda x: F.glu(x, 1), ValueError, "even size"),
    (lambda x: F.einsum("ij,jk->ik", x, x), ValueError, "does not fit operand 0"),
    (lambda x: F.einsum("bij,bjk->bq", x, x), ValueError, r"output letters \['q'\]"),
    (lambda x: F.einsum("bij,bjk->bik", x, x[:, :2]), ValueError, "letter 'j' has size"),
    (lambda x: F.pixel_shuffle(x, 2), ValueError, "not divisible by upscale_factor"),
    (lambda x: F.kl_div(x, x, reduction="avg"), ValueError, "batchmean"),
    (lambda x: F.gaussian_nll_loss(x, x, x[:, :2]), ValueError, "incorrect size"),
    (lambda x: F.gaussian_nll_loss(x, x, -1.0), ValueError, "negative"),
    (lambda x: F.triplet_margin_loss(x, x, x, margin=0), ValueError, "margin must be > 0"),
    (lambda x: F.cosine_embedding_loss(x, x, xpnn.tensor([1, -1])), ValueError,
     "needs 2-D inputs"),
    (lambda x: F.topk(x, 2, dim=3), IndexError, "out of range"),
    (lambda x: F.repeat_interleave(x, xpnn.tensor([1, 2]), dim=1), ValueError,
     "one per entry"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    x = xpnn.tensor(np.ones((2, 3, 3)))
    with pytest.raises(error, match=match):
        call(x)


@pytest.mark.parametrize("build, match", [
    (lambda: nn.Hardtanh(1.0, 0.0), "max_val 0.0 must be greater than min_val 1.0"),
    (lambda: nn.Threshold("a", 1.0), "threshold must be a number, got 'a'"),
    (lambda: nn.PReLU(0), "num_parameters must be an int >= 1, got 0"),
    (lambda: nn.CELU(0.0), "alpha must not be 0"),
    (lambda: nn.GLU(1.5), "dim must be an int, got 1.5"),
    (lambda: nn.Softmin("x"), "dim must be an int or None, got 'x'"),
    (lambda: nn.ZeroPad2d((1, 2)), r"tuple of 4 ints, got \(1, 2\)"),
    (lambda: nn.ConstantPad1d(1, "zero"), "value must be a number, got 'zero'"),
    (lambda: nn.PixelShuffle(0), "upscale_factor must be an int >= 1, got 0"),
    (lambda: nn.Upsample(), "exactly one of size and scale_factor"),
    (lambda: nn.Upsample(scale_factor=2, mode="cubic"), "mode must be one of"),
    (lambda: nn.Upsample(scale_factor=-2), "scale_factor must be a positive number"),
    (lambda: nn.KLDivLoss(reduction="avg"), "reduction must be"),
    (lambda: nn.SmoothL1Loss(beta=-1), "beta must be a number >= 0, got -1"),
    (lambda: nn.TripletMarginLoss(margin=0.0), "margin must be > 0, got 0.0"),
    (lambda: nn.CosineSimilarity(eps=-1.0), "eps must be a number >= 0, got -1.0"),
    (lambda: nn.Unflatten(1, (2, 0)), r"unflattened_size must be .*, got \(2, 0\)"),
])
def test_modules_validate_at_construction(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@needs_torch
def test_legacy_size_average_and_reduce_map_to_reduction():
    """PyTorch's deprecated pair still works, with PyTorch's warning."""
    x = xpnn.tensor(np.array([[1.0, -2.0], [0.5, 3.0]]))
    y = xpnn.tensor(np.zeros((2, 2)))
    for kw, reduction in [({"size_average": False}, "sum"), ({"reduce": False}, "none"),
                          ({"size_average": True, "reduce": True}, "mean")]:
        with pytest.warns(UserWarning, match=f"reduction='{reduction}'"):
            got = nn.SmoothL1Loss(**kw)(x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = torch.nn.SmoothL1Loss(**kw)(torch.tensor(x.numpy()), torch.tensor(y.numpy()))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=4 * EPS32)


@needs_torch
def test_reprs_and_signatures_match_torch():
    for build in [lambda m: m.Hardtanh(-2.0, 2.0), lambda m: m.ReLU6(inplace=True),
                  lambda m: m.Threshold(0.1, 20), lambda m: m.PReLU(3),
                  lambda m: m.CELU(0.5), lambda m: m.Softmin(1), lambda m: m.GLU(),
                  lambda m: m.Hardshrink(), lambda m: m.Mish(), lambda m: m.ZeroPad2d(1),
                  lambda m: m.ConstantPad1d((1, 2), 3.5), lambda m: m.ReflectionPad2d(2),
                  lambda m: m.CircularPad1d(1), lambda m: m.PixelShuffle(3),
                  lambda m: m.Upsample(scale_factor=2, mode="bilinear"),
                  lambda m: m.Upsample(size=(4, 5)), lambda m: m.Unflatten(1, (2, 3)),
                  lambda m: m.CosineSimilarity(), lambda m: m.PairwiseDistance()]:
        assert repr(build(nn)) == repr(build(torch.nn))
    for name in ("SmoothL1Loss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss",
                 "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss",
                 "MultiLabelSoftMarginLoss", "SoftMarginLoss", "HingeEmbeddingLoss",
                 "Hardtanh", "Threshold", "CELU", "Softmin", "GLU", "Upsample"):
        ours = inspect.signature(getattr(nn, name))
        theirs = inspect.signature(getattr(torch.nn, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()], name
    for name in ("pad", "interpolate", "smooth_l1_loss", "kl_div", "poisson_nll_loss",
                 "gaussian_nll_loss", "cosine_similarity", "pairwise_distance", "normalize",
                 "triplet_margin_loss", "cosine_embedding_loss", "margin_ranking_loss",
                 "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
                 "hardtanh", "threshold", "celu", "glu", "gumbel_softmax", "one_hot"):
        ours = [p.name for p in inspect.signature(getattr(F, name)).parameters.values()]
        fn = getattr(TF, name)
        if not inspect.isfunction(fn):  # a builtin: PyTorch's Python twin in torch._refs
            import torch._refs.nn.functional as refs
            fn = getattr(refs, name, None)
            if fn is None:
                continue
        theirs = [p.name for p in inspect.signature(fn).parameters.values()
                  if fn is getattr(TF, name) or p.name != "out"]  # refs add out=
        assert ours == theirs, name


@needs_torch
def test_piecewise_activations_at_their_breakpoints_and_nan_as_pytorch(backend):
    """Values and gradients at the breakpoints and for NaN: threshold and the shrinks keep a
    NaN (they turned it into their fill value, with no gradient), hardswish's derivative is
    0 at -3 and 1 at 3 (PyTorch 2.x)."""
    pts = np.array([np.nan, -3.0, -2.5, -0.5, 0.2, 0.5, 1.0, 2.5, 3.0, 4.0], np.float32)
    ops = [(lambda m, a: m.threshold(a, 0.5, -2.0), lambda a: TF.threshold(a, 0.5, -2.0)),
           (lambda m, a: m.hardshrink(a), TF.hardshrink),
           (lambda m, a: m.softshrink(a), TF.softshrink),
           (lambda m, a: m.hardswish(a), TF.hardswish),
           (lambda m, a: m.hardsigmoid(a), TF.hardsigmoid),
           (lambda m, a: m.hardtanh(a, -3.0, 3.0), lambda a: TF.hardtanh(a, -3.0, 3.0))]
    for ours, theirs in ops:
        t = torch.tensor(pts, requires_grad=True)
        want = theirs(t)
        want.sum().backward()
        x = xpnn.tensor(pts, backend=backend, requires_grad=True)
        got = ours(F, x)
        got.sum().backward()
        np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=EPS32)
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=EPS32)
