"""``torch.stft`` and ``torch.istft``, composed of differentiable ops (padding, sliding
windows, :mod:`xpnn.fft`, fold's overlap-add), so their gradients come from those.

The frames are PyTorch's: with ``center`` the signal is padded by n_fft // 2 on both sides
(``pad_mode``), frame t starts at t * hop_length, a window shorter than n_fft is zero-padded
on both sides to n_fft, and ``normalized`` scales by n_fft^-1/2. ``istft`` adds the inverse
frames back (overlap-add) and divides by the summed squared window.
"""
from __future__ import annotations

from . import backend as B
from . import fft as _fft
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import TensorBase
from .creation import ones
from .functional import fold, pad
from .functional.complex import view_as_real

__all__ = ["stft", "istft"]


def _window(op, window, win_length, n_fft, like):
    """The window (ones by default) zero-padded on both sides to n_fft. win_length is
    n_fft unless given, whatever the window's size (PyTorch's default): a shorter window
    needs win_length to say so."""
    if win_length is None:
        win_length = n_fft
    if not 0 < win_length <= n_fft:
        raise ArgumentError(f"{op}: expected 0 < win_length <= n_fft, but got "
                            f"win_length={win_length}, n_fft={n_fft}")
    if window is None:
        dtype = "float64" if B.dtype_name(like.dtype) in ("float64", "complex128") else \
            "float32"
        window = ones(win_length, dtype=dtype, device=like._be.device,
                      backend=like._be.name)
    if not isinstance(window, TensorBase) or window.ndim != 1 or \
            window.shape[0] != win_length:
        raise ShapeError(f"{op}: expected a 1-D window tensor of size equal to "
                         f"win_length={win_length}, but got window with size "
                         f"{tuple(getattr(window, 'shape', ()))}")
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        window = pad(window, (left, n_fft - win_length - left))
    return window


def _check(op, input, n_fft, hop_length):
    if not isinstance(input, TensorBase):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if input.ndim not in ((1, 2) if op == "stft" else (2, 3)):
        raise ShapeError(f"{op}: expected a {'1D or 2D' if op == 'stft' else '2D or 3D'} "
                         f"tensor, got shape {tuple(input.shape)}")
    if not isinstance(n_fft, int) or n_fft <= 0:
        raise ArgumentError(f"{op}: expected 0 < n_fft, but got n_fft={n_fft}")
    hop = n_fft // 4 if hop_length is None else hop_length
    if not isinstance(hop, int) or hop <= 0:
        raise ArgumentError(f"{op}: expected hop_length > 0, but got hop_length={hop}")
    return hop


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None):
    """The short-time Fourier transform, as ``torch.stft``.

    Args:
        input: (L) or (B, L), real or complex.
        n_fft: the frame (and transform) length.
        hop_length: frame step (default n_fft // 4); win_length: the window's length
            (default n_fft); window: (win_length,) (default ones).
        center: pad n_fft // 2 on both sides with ``pad_mode`` first.
        normalized: scale by n_fft^-1/2; onesided: keep n_fft // 2 + 1 frequencies
            (default: for a real input and window).
        return_complex: must be given for a real input, as PyTorch requires; False gives
            ``view_as_real`` of the result.
    Returns:
        (B?, n_freq, n_frames) complex.
    """
    hop = _check("stft", input, n_fft, hop_length)
    cplx = input.is_complex() or (window is not None and window.is_complex())
    if return_complex is None and not cplx:
        raise ArgumentError("stft: stft requires the return_complex parameter be given for "
                            "real inputs (return_complex=True)")
    if onesided is None:
        onesided = not cplx
    elif onesided and cplx:
        raise ArgumentError("stft: Cannot have onesided output if window or input is "
                            "complex")
    w = _window("stft", window, win_length, n_fft, input)
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if center:
        p = n_fft // 2
        x = pad(x.unsqueeze(1), (p, p), mode=pad_mode).squeeze(1)
    if x.shape[-1] < n_fft:
        raise ShapeError(f"stft: expected 0 < n_fft <= {x.shape[-1]} (the padded input's "
                         f"length), but got n_fft={n_fft}")
    frames = x.unfold(-1, n_fft, hop) * w                      # (B, n_frames, n_fft)
    norm = "ortho" if normalized else "backward"
    spec = (_fft.rfft if onesided else _fft.fft)(frames, dim=-1, norm=norm)
    spec = spec.transpose(1, 2)                                # (B, n_freq, n_frames)
    if input.ndim == 1:
        spec = spec.squeeze(0)
    return spec if return_complex or return_complex is None else view_as_real(spec)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):
    """The inverse of :func:`stft` (``torch.istft``): inverse transforms of the frames,
    windowed, added back where they overlap and divided by the summed squared window.

    Args:
        input: (n_freq, n_frames) or (B, n_freq, n_frames), complex.
        n_fft, hop_length, win_length, window, center, normalized, onesided: as given to
            :func:`stft` (``onesided`` by default when n_freq == n_fft // 2 + 1).
        length: the signal's length (trimmed or zero-padded to it).
    Returns:
        (L) or (B, L) real. ``return_complex=True`` is not supported.
    """
    hop = _check("istft", input, n_fft, hop_length)
    if not input.is_complex():
        raise DtypeError(f"istft: istft requires a complex-valued input tensor, got "
                         f"{B.dtype_name(input.dtype)}")
    if return_complex:
        raise ArgumentError("istft: return_complex=True is not supported by xpnn")
    spec = input if input.ndim == 3 else input.unsqueeze(0)
    n_freq, n_frames = spec.shape[1], spec.shape[2]
    if onesided is None:
        onesided = n_freq != n_fft
    want = n_fft // 2 + 1 if onesided else n_fft
    if n_freq != want:
        raise ShapeError(f"istft: expected the frequency dim to be {want} (n_fft={n_fft}, "
                         f"onesided={onesided}), got input of shape {tuple(input.shape)}")
    w = _window("istft", window, win_length, n_fft, input)
    norm = "ortho" if normalized else "backward"
    frames = spec.transpose(1, 2)                              # (B, n_frames, n_freq)
    frames = _fft.irfft(frames, n=n_fft, dim=-1, norm=norm) if onesided else \
        _fft.ifft(frames, dim=-1, norm=norm).real
    frames = frames * w
    total = n_fft + hop * (n_frames - 1)
    # overlap-add: fold's col2im with (1, n_fft) blocks, stride (1, hop)
    y = fold(frames.transpose(1, 2), (1, total), (1, n_fft), stride=(1, hop))
    y = y.reshape(y.shape[0], total)
    env = fold((w * w).reshape(1, n_fft, 1).expand(1, n_fft, n_frames), (1, total),
               (1, n_fft), stride=(1, hop)).reshape(total)
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if center and length is None else total
    if length is not None:
        end = min(start + length, total)
    y, env = y[:, start:end], env[start:end]
    # PyTorch checks the envelope (NOLA) on the host, a read this step op does not make:
    # where it vanishes the output is NaN/inf instead of an error
    y = y / env
    if length is not None and y.shape[-1] < length:
        y = pad(y, (0, length - y.shape[-1]))
    return y if input.ndim == 3 else y.squeeze(0)
