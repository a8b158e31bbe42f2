"""affine_grid and grid_sample against PyTorch: every mode x padding x align_corners (values
and both gradients), positions outside the input and non-finite ones, ties of "nearest",
a small spatial transformer end to end, and the errors for bad input. The op table in
cases.py adds the float64 gradient checks and the float32 checks."""
import itertools

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn.backend import dtype_name

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
# float64 against PyTorch: the same formulas, a few ops deep, summed in other orders
TOL64 = 64 * EPS64
# float32 sums over channels and corners in another order than PyTorch's vector kernel
TOL32 = 64 * EPS32
MODES = ("bilinear", "nearest")
PADDINGS = ("zeros", "border", "reflection")


def _pair(h, backend, dtype, grad=True):
    """The same host array as an xpnn tensor on ``backend`` and a torch tensor."""
    x = xpnn.tensor(h, backend=backend, dtype=dtype, requires_grad=grad)
    t = torch.tensor(h, dtype=getattr(torch, dtype), requires_grad=grad)
    return x, t


def _grid(rng, shape):
    """Positions over [-1.6, 1.6] (a third outside), with exact corners, centre and edges."""
    g = rng.uniform(-1.6, 1.6, shape)
    flat = g.reshape(-1)
    flat[:8] = (-1.0, 1.0, 0.0, -1.0, 1.0, 1.0, 0.5, -0.5)
    return g


def _run_both(backend, dtype, xh, gh, **kw):
    """(xpnn output, torch output, and both inputs' pairs) after a backward of a random
    weighted sum through each."""
    x, tx = _pair(xh, backend, dtype)
    g, tg = _pair(gh, backend, dtype)
    y, ty = F.grid_sample(x, g, **kw), TF.grid_sample(tx, tg, **kw)
    w = np.random.default_rng(7).standard_normal(tuple(ty.shape))
    (y * xpnn.tensor(w, backend=backend, dtype=dtype)).sum().backward()
    (ty * torch.tensor(w, dtype=getattr(torch, dtype))).sum().backward()
    return y, ty, (x, tx), (g, tg)


@pytest.mark.parametrize("mode,padding_mode,align_corners",
                         list(itertools.product(MODES, PADDINGS, (False, True))))
def test_every_mode_matches_torch(backend, rng, mode, padding_mode, align_corners):
    """Values and gradients w.r.t. input and grid, float64, including positions exactly on
    pixel centres and edges (PyTorch's one-sided conventions there) and a 1-pixel dim."""
    for in_shape, grid_shape in (((2, 3, 4, 5), (2, 3, 6, 2)), ((1, 2, 1, 4), (1, 5, 2, 2))):
        xh, gh = rng.standard_normal(in_shape), _grid(rng, grid_shape)
        y, ty, (x, tx), (g, tg) = _run_both(backend, "float64", xh, gh, mode=mode,
                                            padding_mode=padding_mode,
                                            align_corners=align_corners)
        assert y.shape == tuple(ty.shape) and dtype_name(y.dtype) == "float64"
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=TOL64, atol=TOL64)
        np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=TOL64, atol=TOL64)
        np.testing.assert_allclose(to_np(g.grad), tg.grad.numpy(), rtol=TOL64, atol=TOL64)
        if mode == "nearest":
            assert not to_np(g.grad).any()


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_trilinear_5d_matches_torch(backend, rng, dtype):
    xh, gh = rng.standard_normal((2, 2, 3, 2, 4)), _grid(rng, (2, 2, 3, 2, 3))
    tol = TOL32 if dtype == "float32" else TOL64
    for pad, ac in itertools.product(PADDINGS, (False, True)):
        y, ty, (x, tx), (g, tg) = _run_both(backend, dtype, xh, gh, padding_mode=pad,
                                            align_corners=ac)
        assert dtype_name(y.dtype) == dtype_name(g.grad.dtype) == dtype
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(to_np(g.grad), tg.grad.numpy(), rtol=tol, atol=tol)


SPECIAL = [[np.nan, 0.0], [0.3, np.inf], [-np.inf, 0.1], [1e30, 0.0], [-1e30, 0.5],
           [1.0, -1.0], [-1.0, 1.0], [3.0, 5.0], [-7.0, 1.5], [2.5, -2.25]]


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_far_and_non_finite_positions_as_torch(backend, dtype):
    """Far outside reads zeros (or the folded position); NaN and inf land where PyTorch's
    kernel puts them (bilinear zeros: NaN weights; border/reflection: NaN clamps to 0)."""
    xh = np.arange(12.0).reshape(1, 1, 3, 4)
    gh = np.asarray([[SPECIAL]])
    for mode, pad, ac in itertools.product(MODES, PADDINGS, (False, True)):
        y = F.grid_sample(xpnn.tensor(xh, backend=backend, dtype=dtype),
                          xpnn.tensor(gh, backend=backend, dtype=dtype), mode=mode,
                          padding_mode=pad, align_corners=ac)
        ty = TF.grid_sample(torch.tensor(xh, dtype=getattr(torch, dtype)),
                            torch.tensor(gh, dtype=getattr(torch, dtype)), mode=mode,
                            padding_mode=pad, align_corners=ac)
        np.testing.assert_array_equal(y.numpy(), ty.numpy(), err_msg=f"{mode} {pad} {ac}")


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_nearest_ties_round_half_to_even(backend, rng, dtype):
    """Grids from affine_grid that rescale by 2, 1/2 or 3 put positions exactly halfway
    between pixels; they round to the even one, as PyTorch's nearbyint, bit for bit."""
    for (h, w, ho, wo, s), ac, pad in itertools.product(
            ((8, 8, 4, 4, 1.0), (6, 9, 12, 18, 1.0), (5, 5, 5, 5, 2.0), (4, 6, 7, 5, 3.0),
             (4, 4, 9, 9, 0.5)), (False, True), PADDINGS):
        xh = rng.standard_normal((1, 2, h, w))
        theta = np.asarray([[[s, 0.0, 0.0], [0.0, s, 0.0]]])
        t, tt = _pair(theta, backend, dtype, grad=False)
        grid = F.affine_grid(t, (1, 2, ho, wo), align_corners=ac)
        tgrid = TF.affine_grid(tt, (1, 2, ho, wo), align_corners=ac)
        np.testing.assert_array_equal(grid.numpy(), tgrid.numpy())
        y = F.grid_sample(xpnn.tensor(xh, backend=backend, dtype=dtype), grid,
                          mode="nearest", padding_mode=pad, align_corners=ac)
        ty = TF.grid_sample(torch.tensor(xh, dtype=getattr(torch, dtype)), tgrid,
                            mode="nearest", padding_mode=pad, align_corners=ac)
        np.testing.assert_array_equal(y.numpy(), ty.numpy())


@pytest.mark.parametrize("size", ((2, 3, 4, 6), (1, 1, 1, 5), (3, 1, 7, 1), (2, 1, 8, 9),
                                  (2, 1, 2, 3, 4), (1, 2, 1, 5, 3)))
@pytest.mark.parametrize("align_corners", (False, True))
@pytest.mark.filterwarnings("ignore:Since version 1.3.0")  # see test_unit_size_warning
def test_affine_grid_matches_torch(backend, rng, size, align_corners):
    """The base positions bit for bit (torch.linspace's fused multiply-adds), the grid of a
    random theta and its gradient to rounding, in float64."""
    nd = len(size) - 2
    eye = np.concatenate([np.eye(nd), np.zeros((nd, 1))], axis=1)[None].repeat(size[0], 0)
    for dtype in ("float32", "float64"):
        t, tt = _pair(eye, backend, dtype, grad=False)
        np.testing.assert_array_equal(F.affine_grid(t, size, align_corners).numpy(),
                                      TF.affine_grid(tt, size, align_corners).numpy())
    theta = rng.standard_normal((size[0], nd, nd + 1))
    t, tt = _pair(theta, backend, "float64")
    g, tg = F.affine_grid(t, size, align_corners), TF.affine_grid(tt, size, align_corners)
    assert g.shape == tuple(tg.shape) == (size[0],) + size[2:] + (nd,)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=TOL64, atol=TOL64)
    w = rng.standard_normal(g.shape)
    (g * xpnn.tensor(w, backend=backend, dtype="float64")).sum().backward()
    (tg * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(t.grad), tt.grad.numpy(), rtol=TOL64, atol=TOL64)


def test_default_align_corners_warns_as_torch():
    """align_corners=None means False, with PyTorch 2.13's warning; so does the tutorial's
    ``F.affine_grid(theta, x.size())``."""
    x = xpnn.randn(1, 1, 3, 4)
    theta = xpnn.tensor([[[0.9, 0.1, 0.0], [-0.1, 1.1, 0.2]]])
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0") as record:
        grid = F.affine_grid(theta, x.size())
    assert record[0].filename == __file__  # points at the caller's line, as PyTorch
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        y = F.grid_sample(x, grid)
    np.testing.assert_array_equal(grid.numpy(),
                                  F.affine_grid(theta, x.size(), False).numpy())
    np.testing.assert_array_equal(y.numpy(), F.grid_sample(x, grid, align_corners=False)
                                  .numpy())


def test_unit_size_warning():
    theta = xpnn.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    with pytest.warns(UserWarning, match="unit-size grids"):
        g = F.affine_grid(theta, (1, 1, 1, 4), align_corners=True)
    with pytest.warns(UserWarning, match="unit-size grids"):
        tg = TF.affine_grid(torch.tensor(theta.numpy()), (1, 1, 1, 4), align_corners=True)
    np.testing.assert_array_equal(g.numpy(), tg.numpy())


def test_empty_batch_and_grid(backend):
    """No images, no output positions or no channels: empty results and gradients."""
    for xs, gs in (((0, 2, 3, 4), (0, 2, 2, 2)), ((2, 2, 3, 4), (2, 0, 3, 2)),
                   ((2, 0, 3, 4), (2, 2, 3, 2))):
        x = xpnn.zeros(*xs, backend=backend, dtype="float32", requires_grad=True)
        g = xpnn.zeros(*gs, backend=backend, dtype="float32", requires_grad=True)
        y = F.grid_sample(x, g, align_corners=False)
        ty = TF.grid_sample(torch.zeros(xs), torch.zeros(gs), align_corners=False)
        assert y.shape == tuple(ty.shape)
        y.sum().backward()
        assert x.grad.shape == xs and g.grad.shape == gs


def _stn_weights(rng):
    """Localization net: conv 1->2 (3x3), ReLU, linear 2*4*4 -> 6, started near identity."""
    return {"conv": rng.standard_normal((2, 1, 3, 3)) * 0.3, "conv_b": rng.standard_normal(2),
            "fc": rng.standard_normal((6, 32)) * 0.05,
            "fc_b": np.asarray([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])}


def _stn(f, x, p):
    """The PyTorch spatial-transformer tutorial's forward, shrunk: theta from the
    localization net, then affine_grid(theta, x.size()) and grid_sample."""
    h = f.relu(f.conv2d(x, p["conv"], p["conv_b"]))
    theta = f.linear(h.reshape(x.shape[0], -1), p["fc"], p["fc_b"]).view(-1, 2, 3)
    grid = f.affine_grid(theta, x.size(), align_corners=False)
    return f.grid_sample(x, grid, align_corners=False)


@pytest.mark.parametrize("mode", ("float64", "float32"))
def test_spatial_transformer_matches_torch(backend, rng, mode):
    """Forward and the gradients of the image and of every localization weight."""
    xh, wh = rng.standard_normal((3, 1, 6, 6)), _stn_weights(rng)
    tol = TOL64 * 16 if mode == "float64" else TOL32 * 16
    x, tx = _pair(xh, backend, mode)
    p = {k: xpnn.tensor(v, backend=backend, dtype=mode, requires_grad=True)
         for k, v in wh.items()}
    tp = {k: torch.tensor(v, dtype=getattr(torch, mode), requires_grad=True)
          for k, v in wh.items()}
    y, ty = _stn(F, x, p), _stn(TF, tx, tp)
    assert dtype_name(y.dtype) == mode and y.shape == tuple(ty.shape) == (3, 1, 6, 6)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    w = rng.standard_normal(y.shape)
    (y * xpnn.tensor(w, backend=backend, dtype=mode)).sum().backward()
    (ty * torch.tensor(w, dtype=getattr(torch, mode))).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=tol, atol=tol)
    for k in p:
        assert dtype_name(p[k].grad.dtype) == mode
        np.testing.assert_allclose(to_np(p[k].grad), tp[k].grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=k)


def _bad(name):
    x, g = xpnn.zeros(2, 3, 4, 5), xpnn.zeros(2, 3, 3, 2)
    theta = xpnn.zeros(2, 2, 3)
    return {
        "mode": lambda: F.grid_sample(x, g, mode="cubic", align_corners=False),
        "padding": lambda: F.grid_sample(x, g, padding_mode="wrap", align_corners=False),
        "bicubic": lambda: F.grid_sample(xpnn.zeros(2, 3, 2, 4, 5), xpnn.zeros(2, 3, 3, 3, 3),
                                         mode="bicubic", align_corners=False),
        "grid_dims": lambda: F.grid_sample(x, xpnn.zeros(2, 3, 2), align_corners=False),
        "input_dims": lambda: F.grid_sample(xpnn.zeros(3, 4, 5), g, align_corners=False),
        "batch": lambda: F.grid_sample(x, xpnn.zeros(1, 3, 3, 2), align_corners=False),
        "last": lambda: F.grid_sample(x, xpnn.zeros(2, 3, 3, 3), align_corners=False),
        "empty": lambda: F.grid_sample(xpnn.zeros(2, 3, 0, 5), g, align_corners=False),
        "int": lambda: F.grid_sample(xpnn.zeros(2, 3, 4, 5, dtype="int64"), g,
                                     align_corners=False),
        "dtype": lambda: F.grid_sample(x, xpnn.zeros(2, 3, 3, 2, dtype="float64"),
                                       align_corners=False),
        "theta_int": lambda: F.affine_grid(xpnn.zeros(2, 2, 3, dtype="int64"), (2, 1, 3, 4),
                                           align_corners=False),
        "theta_shape": lambda: F.affine_grid(xpnn.zeros(2, 3, 3), (2, 1, 3, 4),
                                             align_corners=False),
        "size_len": lambda: F.affine_grid(theta, (2, 1, 4), align_corners=False),
        "size_zero": lambda: F.affine_grid(theta, (2, 1, 0, 4), align_corners=False),
        "size_batch": lambda: F.affine_grid(theta, (3, 1, 4, 5), align_corners=False),
    }[name]


BAD = [("mode", ValueError, r"grid_sample: expected mode .*got: 'cubic'"),
       ("padding", ValueError, r"grid_sample: expected padding_mode .*got: 'wrap'"),
       ("bicubic", RuntimeError, r"bicubic interpolation only supports 4D input"),
       ("grid_dims", RuntimeError, r"grid_sample: .*grid of shape xpnn.Size\(\[2, 3, 2\]\)"),
       ("input_dims", RuntimeError, r"grid_sample: expected 4-D or 5-D input .*xpnn.Size\(\[3, 4, 5\]\)"),
       ("batch", RuntimeError, r"grid_sample: .*same batch size.*xpnn.Size\(\[1, 3, 3, 2\]\)"),
       ("last", RuntimeError, r"grid_sample: expected grid to have size 2 in its last dim"),
       ("empty", RuntimeError, r"grid_sample: .*non-empty spatial dims.*dim 2 empty"),
       ("int", TypeError, r"grid_sample: expected a floating input, got int64"),
       ("dtype", RuntimeError, r"grid_sample: .*same dtype.*input float32 and grid float64"),
       ("theta_int", ValueError, r"affine_grid: expected theta to have a floating dtype"),
       ("theta_shape", ValueError, r"affine_grid: expected theta of shape \(N, 2, 3\) for "
                                   r"size \(2, 1, 3, 4\), got xpnn.Size\(\[2, 3, 3\]\)"),
       ("size_len", NotImplementedError, r"affine_grid: only 4-D and 5-D sizes"),
       ("size_zero", ValueError, r"affine_grid: expected a positive output size"),
       ("size_batch", RuntimeError, r"affine_grid: theta holds 2 maps for a batch of 3")]


@pytest.mark.parametrize("name,error,match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_function_and_argument(name, error, match):
    with pytest.raises(error, match=match):
        _bad(name)()
