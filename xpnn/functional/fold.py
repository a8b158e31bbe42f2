"""unfold and fold: the sliding blocks of a batch of images as columns, and back (PyTorch's
``torch.nn.functional.unfold``/``fold``, im2col and col2im). Each is the other's adjoint,
so each one's backward is the other."""
from __future__ import annotations

import math

from ..autograd import Function, as_tensor
from .conv import _col2im, _im2col, ntuple, out_size, to_chwn
from .._errors import ShapeError


def _geometry(op, kernel_size, dilation, padding, stride):
    """(kernel, dilation, pads, stride): 2-tuples, pads as ((top, bottom), (left, right))."""
    kernel = ntuple(op, "kernel_size", kernel_size, 2, 1)
    dilation = ntuple(op, "dilation", dilation, 2, 1)
    padding = ntuple(op, "padding", padding, 2, 0)
    stride = ntuple(op, "stride", stride, 2, 1)
    return kernel, dilation, tuple((p, p) for p in padding), stride


def _blocks(op, hw, geo):
    """The number of blocks along each spatial axis of an (H, W) image; each must be >= 1."""
    kernel, dilation, pads, stride = geo
    out = tuple(out_size(n, k, s, p, d) for n, k, s, p, d in zip(hw, kernel, stride, pads,
                                                                   dilation))
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel_size {kernel} with dilation {dilation} does not fit "
                         f"the padded {tuple(hw)} image (padding {tuple(p for p, _ in pads)})")
    return out


def _columns(be, X, geo, out_hw):
    """(N, C, H, W) -> (N, C kh kw, L): channel-major, then the kernel's taps row-major;
    the L = Ho Wo blocks row-major (PyTorch's layout)."""
    xp = be.xp
    kernel, dilation, pads, stride = geo
    N, C = X.shape[:2]
    cols = _im2col(be, to_chwn(xp, X, pads), kernel, stride, dilation, out_hw)
    cols = xp.reshape(cols, (C * kernel[0] * kernel[1], out_hw[0] * out_hw[1], N))
    return xp.permute_dims(cols, (2, 0, 1))


def _image(be, cols, shape, geo, out_hw):
    """The adjoint of :func:`_columns`: (N, C kh kw, L) -> (N, C, H, W), overlaps added."""
    xp = be.xp
    kernel, dilation, pads, stride = geo
    N, C, H, W = shape
    (pt, pb), (pl, pr) = pads
    cols = xp.reshape(xp.permute_dims(cols, (1, 2, 0)),
                      (C, kernel[0] * kernel[1]) + tuple(out_hw) + (N,))
    img = _col2im(be, cols, (H + pt + pb, W + pl + pr), kernel, stride, dilation)
    img = img[:, pt:pt + H, pl:pl + W, :]
    return xp.permute_dims(img, (3, 0, 1, 2))


class Unfold(Function):
    saved_inputs = ()

    def forward(self, X, geo=None, out_hw=None):
        self.shape, self.geo, self.out_hw = X.shape, geo, out_hw
        return _columns(self.be, X, geo, out_hw)

    def backward(self, dY):
        return _image(self.be, dY, self.shape, self.geo, self.out_hw)

    def backward_graph(self, dY):
        return Fold.apply(dY, shape=self.shape, geo=self.geo, out_hw=self.out_hw)


class Fold(Function):
    saved_inputs = ()

    def forward(self, X, shape=None, geo=None, out_hw=None):
        self.geo, self.out_hw = geo, out_hw
        return _image(self.be, X, shape, geo, out_hw)

    def backward(self, dY):
        return _columns(self.be, dY, self.geo, self.out_hw)

    def backward_graph(self, dY):
        return Unfold.apply(dY, geo=self.geo, out_hw=self.out_hw)


def _batched(op, x, nd):
    """(x with a batch dim, whether it had none) for an input of nd or nd - 1 dims."""
    from .shape import reshape
    if x.ndim == nd - 1:
        return reshape(x, (1,) + tuple(x.shape)), True
    if x.ndim != nd:
        raise ShapeError(f"{op}: expected a {nd}-D or {nd - 1}-D input, got shape {x.shape}")
    return x, False


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of (N, C, H, W) (or (C, H, W)) as columns: (N, C kh kw, L), L the
    number of blocks, as ``torch.nn.functional.unfold`` (im2col). A convolution is
    ``weight.view(out, -1) @ unfold(x, ...)``."""
    from .shape import reshape
    x, unbatched = _batched("unfold", as_tensor(input, op="unfold"), 4)
    geo = _geometry("unfold", kernel_size, dilation, padding, stride)
    out_hw = _blocks("unfold", x.shape[2:], geo)
    y = Unfold.apply(x, geo=geo, out_hw=out_hw)
    return reshape(y, y.shape[1:]) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns of blocks (N, C kh kw, L) (or (C kh kw, L)) summed back into (N, C, H, W)
    images of ``output_size`` (H, W), overlaps added: the adjoint of :func:`unfold`, as
    ``torch.nn.functional.fold`` (col2im)."""
    from .shape import reshape
    x, unbatched = _batched("fold", as_tensor(input, op="fold"), 3)
    geo = _geometry("fold", kernel_size, dilation, padding, stride)
    hw = ntuple("fold", "output_size", output_size, 2, 1)
    out_hw = _blocks("fold", hw, geo)
    taps = geo[0][0] * geo[0][1]
    N, CK, L = x.shape
    if CK % taps:
        raise ShapeError(f"fold: dim 1 of the input ({CK}) must be divisible by the kernel's "
                         f"{taps} taps (kernel_size {geo[0]}), input shape {x.shape}")
    if L != math.prod(out_hw):
        raise ShapeError(f"fold: the input has {L} blocks (dim 2) but output_size {hw} with "
                         f"kernel_size {geo[0]}, dilation {geo[1]}, padding "
                         f"{tuple(p for p, _ in geo[2])} and stride {geo[3]} gives "
                         f"{out_hw[0]} x {out_hw[1]} = {math.prod(out_hw)}")
    y = Fold.apply(x, shape=(N, CK // taps) + hw, geo=geo, out_hw=out_hw)
    return reshape(y, y.shape[1:]) if unbatched else y
