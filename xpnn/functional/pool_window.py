"""The plumbing shared by the sliding-window pools (max_pool.py, pool.py, pool3d.py): the
window geometry, the taps, the ``_Pool`` base Function and the unbatched-input handling. Split
from pool.py; see its docstring for the (C, H, W, N) layout of the windows."""
from __future__ import annotations

from .. import backend as B
from .._errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..autograd import Function, as_tensor
from .im2col import ntuple, to_chwn, window
from .shape import reshape


def _pool_geometry(op, shape, kernel, stride, padding, dilation, ceil_mode, nd):
    """(kernel, stride, pads, dilation, out, extra) as 2-tuples; ``extra`` is the padding
    added at the end of each axis so ceil_mode's last partial window fits."""
    kernel = ntuple(op, "kernel_size", kernel, nd, 1)
    stride = kernel if stride is None or stride == () else ntuple(op, "stride", stride, nd, 1)
    padding = ntuple(op, "padding", padding, nd, 0)
    dilation = ntuple(op, "dilation", dilation, nd, 1)
    out, extra = [], []
    for n, k, s, p, d in zip(shape, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if 2 * p > span:
            raise ArgumentError(f"{op}: padding {padding} must be at most half the (dilated) "
                                f"kernel {kernel}")
        ceil = -(-(n + 2 * p - span) // s) + 1
        if (ceil - 1) * s >= n + p:  # the last window must start inside the input
            ceil -= 1
        o = ceil if ceil_mode else (n + 2 * p - span) // s + 1
        if o < 1:  # ceil_mode keeps a window that sticks out past the end (PyTorch)
            hint = "" if ceil_mode or ceil < 1 else " (ceil_mode=True keeps a partial window)"
            raise ArgumentError(f"{op}: kernel {kernel} with dilation {dilation} spans {span}, "
                                f"larger than the padded input ({n} + 2*{p}) of input size "
                                f"{tuple(shape)}{hint}")
        out.append(o)
        extra.append(max(0, (o - 1) * s + span - (n + 2 * p)))
    if nd == 1:
        kernel, stride, dilation = (1,) + kernel, (1,) + stride, (1,) + dilation
        padding, out, extra = (0,) + padding, [1] + out, [0] + extra
    return kernel, stride, padding, dilation, tuple(out), tuple(extra)


def _taps(kernel, stride, dilation, out):
    """(row slice, col slice) of each of the kh*kw taps of the windows of a (C, Hp, Wp, N)
    array, tap (i, j) at index i*kw + j (row-major: the order ties are broken in)."""
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out
    return [(window(i, dh, sh, Ho), window(j, dw, sw, Wo)) for i in range(kh)
            for j in range(kw)]


def _disjoint(kernel, stride, dilation):
    """True when no input element lies in two windows, so backward may assign, not add."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


class _Pool(Function):
    """Shared plumbing: 1-D inputs as H = 1, padding in CHWN order, the scatter of backward."""

    def _setup(self, X, geo, fill):
        self.one_d = X.ndim == 3
        if self.one_d:
            X = self.xp.reshape(X, (X.shape[0], X.shape[1], 1, X.shape[2]))
        self.shape, self.geo = X.shape, geo
        kernel, stride, pad, dilation, out, extra = geo
        pads = ((pad[0], pad[0] + extra[0]), (pad[1], pad[1] + extra[1]))
        self.pads = pads
        Xc = to_chwn(self.xp, X, pads, fill)
        return Xc, _taps(kernel, stride, dilation, out)

    def _finish(self, Yc):
        Y = self.xp.permute_dims(Yc, (3, 0, 1, 2))
        return self.xp.reshape(Y, (Y.shape[0], Y.shape[1], Y.shape[3])) if self.one_d else Y

    def _scatter(self, parts, Xc_shape, dtype):
        """dX from one gradient slab per tap (an iterable, consumed one slab at a time):
        assigned when windows are disjoint, else added."""
        xp = self.xp
        kernel, stride, _, dilation, out, _ = self.geo
        dXc = xp.zeros(Xc_shape, dtype=dtype, device=self.be.device)
        assign = _disjoint(kernel, stride, dilation)
        for (hs, ws), part in zip(_taps(kernel, stride, dilation, out), parts):
            if assign:
                dXc[:, hs, ws, :] = part
            else:
                dXc[:, hs, ws, :] += part
        return self._crop(dXc)

    def _crop(self, dXc):
        """(C, Hp, Wp, N) gradient of the padded input -> dX shaped like the input."""
        xp = self.xp
        (pt, pb), (pl, pr) = self.pads
        Hp, Wp = dXc.shape[1:3]
        dXc = dXc[:, pt:Hp - pb, pl:Wp - pr, :]
        dX = xp.permute_dims(dXc, (3, 0, 1, 2))
        return xp.reshape(dX, (dX.shape[0], dX.shape[1], dX.shape[3])) if self.one_d else dX

    def _dY(self, dY):
        if self.one_d:
            dY = self.xp.reshape(dY, (dY.shape[0], dY.shape[1], 1, dY.shape[2]))
        return self.xp.permute_dims(dY, (1, 2, 3, 0))

def _batched(op, x, nd, floating=False):
    """(x as (N, C, *spatial), whether it was unbatched): an unbatched (C, *spatial) input
    gets a batch dim of 1, as PyTorch accepts."""
    x = as_tensor(x, op=op)
    if x.ndim not in (nd + 1, nd + 2):
        names = "(N, C, L) or (C, L)" if nd == 1 else "(N, C, H, W) or (C, H, W)"
        raise ShapeError(f"{op}: expected a {nd + 2}-D or {nd + 1}-D input {names}, got "
                         f"shape {x.shape}")
    if floating and not x._be.is_floating(x.dtype):  # PyTorch: NotImplementedError
        raise DtypeNotImplemented(f"{op}: expected a floating tensor, got "
                                  f"{B.dtype_name(x.dtype)}")
    if x.ndim == nd + 1:
        return reshape(x, (1,) + x.shape), True
    return x, False


def _unbatch(y, unbatched):
    if not unbatched:
        return y
    if isinstance(y, tuple):
        return tuple(_unbatch(t, True) for t in y)
    return reshape(y, y.shape[1:])
