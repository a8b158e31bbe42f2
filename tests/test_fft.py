"""xpnn.fft (torch.fft): every transform compared with torch 2.13 in values and gradients on
every backend, in single (float32/complex64, 1e-5 relative: about 100 eps of float32 over
an n log n transform) and double precision (1e-10), checked by finite differences in
float64/complex128; the frequency helpers and shifts; argument errors; and a small spectral
convolution (rfft2 -> complex weights -> irfft2, as in a Fourier neural operator) trained a
few steps, equal to torch's from the same initial weights.
"""
import numpy as np
import pytest
from conftest import to_np
from test_complex import _dt, _np

import xpnn

torch = pytest.importorskip("torch")

TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-10)}
RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 6, 8))
Z = X + 1j * RNG.standard_normal((3, 6, 8))


# name: (function name, keyword arguments, input kind: "x" real or "z" complex)
CASES = {
    "fft": ("fft", {}, "z"),
    "fft_real_n": ("fft", {"n": 5, "dim": 1}, "x"),
    "ifft_pad_ortho": ("ifft", {"n": 11, "norm": "ortho"}, "z"),
    "fft2_forward": ("fft2", {"norm": "forward"}, "z"),
    "ifft2_s": ("ifft2", {"s": (4, 9), "dim": (0, 2)}, "z"),
    "fftn": ("fftn", {}, "x"),
    "ifftn_s": ("ifftn", {"s": (5, 3)}, "z"),
    "rfft": ("rfft", {}, "x"),
    "rfft_odd_forward": ("rfft", {"n": 7, "dim": 1, "norm": "forward"}, "x"),
    "irfft": ("irfft", {}, "z"),
    "irfft_odd": ("irfft", {"n": 7}, "z"),
    "irfft_pad_ortho": ("irfft", {"n": 20, "norm": "ortho", "dim": 1}, "z"),
    "rfft2": ("rfft2", {}, "x"),
    "rfft2_s": ("rfft2", {"s": (4, 10)}, "x"),
    "irfft2": ("irfft2", {}, "z"),
    "irfft2_s": ("irfft2", {"s": (8, 9), "norm": "ortho"}, "z"),
    "rfftn": ("rfftn", {"dim": (0, 2)}, "x"),
    "irfftn": ("irfftn", {}, "z"),
    "hfft": ("hfft", {}, "z"),
    "hfft_n_ortho": ("hfft", {"n": 9, "norm": "ortho"}, "z"),
    "ihfft": ("ihfft", {}, "x"),
    "ihfft_forward": ("ihfft", {"n": 5, "norm": "forward"}, "x"),
    "fftshift": ("fftshift", {}, "z"),
    "ifftshift_dim": ("ifftshift", {"dim": (0, 1)}, "x"),
}


def _make(m, kind, real):
    cplx = {"float32": "complex64", "float64": "complex128"}[real]
    data, dt = (X, real) if kind == "x" else (Z, cplx)
    if m is xpnn:
        return xpnn.tensor(data, dtype=dt, requires_grad=True)
    return torch.tensor(data, dtype=getattr(torch, dt), requires_grad=True)


def _run(m, name, kwargs, kind, real):
    leaf = _make(m, kind, real)
    out = getattr(m.fft, name)(leaf, **kwargs)
    shape = tuple(out.shape)
    w = np.random.default_rng(1).standard_normal(shape) + \
        1j * np.random.default_rng(2).standard_normal(shape)
    w = m.tensor(w if out.is_complex() else w.real, dtype=out.dtype)
    loss = (out * w).real.sum() if out.is_complex() else (out * w).sum()
    loss.backward()
    return out, leaf.grad


@pytest.mark.parametrize("real", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_transforms_match_torch(backend, case, real):
    name, kwargs, kind = CASES[case]
    out, grad = _run(xpnn, name, kwargs, kind, real)
    t_out, t_grad = _run(torch, name, kwargs, kind, real)
    assert _dt(out) == _dt(t_out) and tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(_np(out), _np(t_out), **TOL[real])
    assert _dt(grad) == _dt(t_grad)
    np.testing.assert_allclose(_np(grad), _np(t_grad), **TOL[real])


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradcheck(host_backend, case):
    name, kwargs, kind = CASES[case]
    data = X[:2, :3, :4] if kind == "x" else Z[:2, :3, :4]
    dt = xpnn.float64 if kind == "x" else xpnn.complex128
    kwargs = {k: v for k, v in kwargs.items() if k not in ("n", "s")}  # small sizes here
    x = xpnn.tensor(data, dtype=dt, requires_grad=True)
    assert xpnn.gradcheck(lambda t: getattr(xpnn.fft, name)(t, **kwargs), x)


def test_import_as_torch_and_promotion(backend):
    import xpnn as torch_like
    x = torch_like.ones(8)
    y = torch_like.fft.rfft(x)
    assert xpnn.complex64 == y.dtype and tuple(y.shape) == (5,)
    np.testing.assert_allclose(to_np(y), [8, 0, 0, 0, 0], atol=1e-6)
    ints = xpnn.fft.fft(xpnn.arange(4))  # integers through the default float dtype
    assert xpnn.complex64 == ints.dtype
    assert xpnn.complex128 == xpnn.fft.fft(xpnn.ones(4, dtype=xpnn.float64)).dtype


@pytest.mark.parametrize("n", [1, 4, 7])
@pytest.mark.parametrize("d", [1.0, 0.25])
def test_frequencies_match_torch(backend, n, d):
    for name in ("fftfreq", "rfftfreq"):
        got = getattr(xpnn.fft, name)(n, d)
        want = getattr(torch.fft, name)(n, d)
        assert _dt(got) == _dt(want)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-6)
    got = xpnn.fft.fftfreq(n, d, dtype=xpnn.float64)
    assert xpnn.float64 == got.dtype


def test_argument_errors(backend):
    x, z = xpnn.ones(4), xpnn.ones(4, dtype=xpnn.complex64)
    with pytest.raises(RuntimeError, match="fft.fft: Invalid normalization mode: 'bad'"):
        xpnn.fft.fft(x, norm="bad")
    with pytest.raises(RuntimeError, match="fft.rfft: rfft expects a real input tensor, but "
                                           "got complex64"):
        xpnn.fft.rfft(z)
    with pytest.raises(RuntimeError, match="Invalid number of data points .0."):
        xpnn.fft.fft(x, n=0)
    with pytest.raises(RuntimeError, match="Dimension out of range"):
        xpnn.fft.fft(x, dim=1)
    with pytest.raises(RuntimeError, match="dim and shape arguments must have the same"):
        xpnn.fft.fftn(xpnn.ones(2, 3), s=(2,), dim=(0, 1))
    with pytest.raises(TypeError, match="fft.fft: expected a Tensor"):
        xpnn.fft.fft([1.0, 2.0])


# -- a spectral convolution trained a few steps ------------------------------------------------
def _spectral_model(m, w_init, w0_init, modes=(3, 3)):
    """FNO's spectral layer: the lowest ``modes`` of rfft2, times complex weights (mixing
    channels), back through irfft2 (zero-padded to the input's size), plus a pointwise real
    skip weight."""

    class SpectralConv(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = m.nn.Parameter(m.tensor(w_init, dtype=m.complex64))
            self.w0 = m.nn.Parameter(m.tensor(w0_init, dtype=m.float32))

        def forward(self, x):  # (B, C_in, H, W) -> (B, C_out, H, W)
            H, W = x.shape[-2], x.shape[-1]
            X = m.fft.rfft2(x)[:, :, :modes[0], :modes[1]]          # (B, Ci, m1, m2)
            Y = (X[:, :, None] * self.weight[None]).sum(1)          # (B, Co, m1, m2)
            spectral = m.fft.irfft2(Y, s=(H, W))
            skip = (x[:, :, None] * self.w0[None, :, :, None, None]).sum(1)
            return spectral + skip

    return SpectralConv()


OPTIMIZERS = {"sgd_momentum": ("SGD", dict(lr=0.5, momentum=0.9)),
              "adam_amsgrad": ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
              "adamw": ("AdamW", dict(lr=0.05))}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_spectral_conv_trains_like_torch(backend, optimizer):
    rng = np.random.default_rng(11)
    ci, co, modes = 2, 3, (3, 3)
    w_init = (rng.standard_normal((ci, co) + modes) +
              1j * rng.standard_normal((ci, co) + modes)) / (ci * co)
    w0_init = rng.standard_normal((ci, co)) * 0.3
    x = rng.standard_normal((4, ci, 8, 8))
    target = rng.standard_normal((4, co, 8, 8))
    losses = {}
    weights = {}
    for m in (xpnn, torch):
        model = _spectral_model(m, w_init, w0_init, modes)
        name, kw = OPTIMIZERS[optimizer]
        opt = getattr(m.optim, name)(model.parameters(), **kw)
        xt = m.tensor(x, dtype=m.float32)
        tt = m.tensor(target, dtype=m.float32)
        run = []
        for _ in range(5):
            opt.zero_grad()
            loss = ((model(xt) - tt) ** 2).mean()
            loss.backward()
            opt.step()
            run.append(float(loss.item()))
        losses[m.__name__] = run
        weights[m.__name__] = (_np(model.weight), _np(model.w0))
    np.testing.assert_allclose(losses["xpnn"], losses["torch"], rtol=1e-5)
    assert losses["xpnn"][-1] < losses["xpnn"][0]  # it learns
    for got, want in zip(weights["xpnn"], weights["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# -- stft / istft ------------------------------------------------------------------------------
STFT = {
    "hann": dict(n_fft=16, hop_length=4),
    "short_window_normalized": dict(n_fft=16, hop_length=5, win_length=10, normalized=True),
    "odd_not_centered": dict(n_fft=15, center=False),
    "constant_twosided": dict(n_fft=16, pad_mode="constant", onesided=False),
}
ISTFT = {
    "hann": dict(n_fft=16, hop_length=4),
    "length_normalized": dict(n_fft=16, hop_length=4, length=45, normalized=True),
    "short_window": dict(n_fft=16, hop_length=4, win_length=12),
}


def _window(m, n, real):
    return m.hann_window(n, dtype=getattr(m, real))


@pytest.mark.parametrize("real", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(STFT))
def test_stft_matches_torch(backend, case, real):
    kw = STFT[case]
    sig = RNG.standard_normal((2, 50))
    res = []
    for m in (xpnn, torch):
        x = m.tensor(sig, dtype=getattr(m, real), requires_grad=True)
        s = m.stft(x, window=_window(m, kw.get("win_length", kw["n_fft"]), real),
                   return_complex=True, **kw)
        w = np.random.default_rng(1).standard_normal(tuple(s.shape)) * (1 + 0.5j)
        (s * m.tensor(w, dtype=s.dtype)).real.sum().backward()
        res.append((s, x.grad))
    (s, g), (ts, tg) = res
    assert _dt(s) == _dt(ts) and tuple(s.shape) == tuple(ts.shape)
    np.testing.assert_allclose(_np(s), _np(ts), **TOL[real])
    np.testing.assert_allclose(_np(g), _np(tg), **TOL[real])


@pytest.mark.parametrize("real", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(ISTFT))
def test_istft_matches_torch(backend, case, real):
    kw = ISTFT[case]
    n = kw.get("win_length", kw["n_fft"])
    cplx = "complex64" if real == "float32" else "complex128"
    spec = torch.stft(torch.tensor(RNG.standard_normal((2, 50))), kw["n_fft"],
                      kw["hop_length"], win_length=n, window=torch.hann_window(n,
                      dtype=torch.float64), return_complex=True).numpy()
    res = []
    for m in (xpnn, torch):
        s = m.tensor(spec, dtype=getattr(m, cplx), requires_grad=True)
        y = m.istft(s, window=_window(m, n, real), **kw)
        w = np.random.default_rng(1).standard_normal(tuple(y.shape))
        (y * m.tensor(w, dtype=y.dtype)).sum().backward()
        res.append((y, s.grad))
    (y, g), (ty, tg) = res
    assert _dt(y) == _dt(ty) and tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(_np(y), _np(ty), **TOL[real])
    np.testing.assert_allclose(_np(g), _np(tg), **TOL[real])


def test_stft_arguments(backend):
    x = xpnn.ones(32)
    with pytest.raises(RuntimeError, match="stft requires the return_complex parameter"):
        xpnn.stft(x, 8)
    with pytest.raises(RuntimeError, match="expected 0 < win_length <= n_fft"):
        xpnn.stft(x, 8, win_length=9, return_complex=True)
    with pytest.raises(RuntimeError, match="istft requires a complex-valued input"):
        xpnn.istft(xpnn.ones(5, 3), 8)
    spec = xpnn.stft(x, 8, window=xpnn.hann_window(8), return_complex=True)
    back = xpnn.istft(spec, 8, window=xpnn.hann_window(8), length=32)
    np.testing.assert_allclose(to_np(back), np.ones(32), atol=1e-5)  # the round trip


def test_spectral_conv_with_real_weights_and_adam_like_torch(backend):
    # the other common layout: real (..., 2) weights read through view_as_complex, so any
    # optimizer applies
    rng = np.random.default_rng(12)
    w_init = rng.standard_normal((2, 3, 3, 3, 2)) / 6
    x = rng.standard_normal((4, 2, 8, 8))
    target = rng.standard_normal((4, 3, 8, 8))
    losses = {}
    for m in (xpnn, torch):
        w = m.nn.Parameter(m.tensor(w_init, dtype=m.float32))
        opt = m.optim.Adam([w], lr=0.05)
        xt, tt = m.tensor(x, dtype=m.float32), m.tensor(target, dtype=m.float32)
        run = []
        for _ in range(5):
            opt.zero_grad()
            X = m.fft.rfft2(xt, norm="ortho")[:, :, :3, :3]
            Y = (X[:, :, None] * m.view_as_complex(w)[None]).sum(1)
            loss = ((m.fft.irfft2(Y, s=(8, 8), norm="ortho") - tt) ** 2).mean()
            loss.backward()
            opt.step()
            run.append(float(loss.item()))
        losses[m.__name__] = (run, _np(w))
    np.testing.assert_allclose(losses["xpnn"][0], losses["torch"][0], rtol=1e-5)
    np.testing.assert_allclose(losses["xpnn"][1], losses["torch"][1], rtol=1e-4, atol=1e-5)
    assert losses["xpnn"][0][-1] < losses["xpnn"][0][0]


def test_optimizers_without_a_complex_update_refuse_complex_parameters(backend):
    p = xpnn.nn.Parameter(xpnn.tensor([1 + 2j]))
    with pytest.raises(TypeError, match="RMSprop: params.0. has dtype .*complex64.*"
                                        "view_as_complex"):
        xpnn.optim.RMSprop([p])
