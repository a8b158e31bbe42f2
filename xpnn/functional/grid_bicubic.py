"""``grid_sample(mode="bicubic")``: cubic convolution (Keys, 1981, "Cubic convolution
interpolation for digital image processing", with PyTorch's A = -0.75) over the 4x4
neighbours of each sampling position, after PyTorch's CPU kernel.

The grid is unnormalized to pixel coordinates with no padding; each neighbour's integer
coordinate is then folded back by the padding mode on its own (grid_coords.py's ``fold``, PyTorch's
compute_coordinates) and read as zero where it stays outside. Rows are interpolated along x
first, then the four results along y, as PyTorch sums them.
"""
from __future__ import annotations

import math

from ..autograd import Function
from .grid_coords import _corner, _index, fold, unnormalize
from .indexing import index_add

A = -0.75


def cubic_weights(t):
    """The four cubic-convolution weights of neighbours -1, 0, 1, 2 at fraction t (PyTorch's
    get_cubic_upsample_coefficients)."""
    near = lambda x: ((A + 2) * x - (A + 3)) * x * x + 1  # |x| <= 1  # noqa: E731
    far = lambda x: ((A * x - 5 * A) * x + 8 * A) * x - 4 * A  # 1 < |x| < 2  # noqa: E731
    return far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)


def cubic_slopes(t):
    """d/dt of :func:`cubic_weights`."""
    near = lambda x: (3 * (A + 2) * x - 2 * (A + 3)) * x  # noqa: E731
    far = lambda x: (3 * A * x - 10 * A) * x + 8 * A  # noqa: E731
    return far(t + 1.0), near(t), -near(1.0 - t), -far(2.0 - t)


class GridSampleBicubic(Function):
    """Y[n, c, o] = sum_i wy_i sum_j wx_j X[n, c, fold(iy - 1 + i), fold(ix - 1 + j)].
    dX adds dY * wx_j * wy_i back at each neighbour; dG_x = s_x sum dY . X_ij wx_j' wy_i,
    dG_y = s_y sum dY . X_ij wx_j wy_i' (s: d pixel / d grid; the folds are constants)."""

    saved_inputs = ()

    def forward(self, X, G, padding_mode="zeros", align_corners=False):
        xp = self.xp
        n, c, h, w = X.shape
        rows = xp.reshape(xp.moveaxis(X, 1, -1), (n * h * w, c))
        per_image = math.prod(G.shape[1:-1])
        batch = xp.arange(n, dtype=xp.int64, device=X.device) * (h * w)
        base = xp.reshape(xp.broadcast_to(xp.reshape(batch, (n, 1)), (n, per_image)), (-1,))
        scales, fracs, starts = [], [], []
        for comp, size in ((0, w), (1, h)):
            p, scale = unnormalize(xp.reshape(G[..., comp], (-1,)), size, align_corners)
            f = xp.floor(p)
            scales.append(scale)
            fracs.append(p - f)
            starts.append(f)
        wx, wy = cubic_weights(fracs[0]), cubic_weights(fracs[1])
        corners = []  # (flat row index, inside, weight), row-major over (i, j)
        Y = None
        for i in range(4):
            iy = _index(xp, fold(xp, starts[1] + (i - 1), h, padding_mode, align_corners)[0], h)
            line = None
            for j in range(4):
                ix = _index(xp, fold(xp, starts[0] + (j - 1), w, padding_mode,
                                     align_corners)[0], w)
                idx, inside, _ = _corner(xp, base, (w, 1), (iy, ix), (h, w), None)
                corners.append((idx, inside, wx[j] * wy[i]))
                v = xp.where(inside[:, None], xp.take(rows, idx, axis=0), 0.0)
                term = wx[j][:, None] * v
                line = term if line is None else line + term
            term = wy[i][:, None] * line
            Y = term if Y is None else Y + term
        if self.record:
            self.x_shape, self.g_shape, self.corners = X.shape, G.shape, corners
            self.wx, self.wy, self.fracs, self.scales = wx, wy, fracs, scales
            if self.needs[1]:
                self.rows = rows
        Y = xp.reshape(Y, tuple(G.shape[:-1]) + (c,))
        return xp.moveaxis(Y, -1, 1)

    def backward(self, dY):
        xp, be = self.xp, self.be
        n, c, h, w = self.x_shape
        dYr = xp.reshape(xp.moveaxis(dY, 1, -1), (math.prod(self.g_shape[:-1]), c))
        dX = dG = None
        if self.needs[0]:
            idx = xp.concat([k for k, _, _ in self.corners])
            src = xp.concat([xp.where(inside[:, None], wk[:, None] * dYr, 0.0)
                             for _, inside, wk in self.corners])
            rows = xp.zeros((n * h * w, c), dtype=dY.dtype, device=dY.device)
            rows = index_add(be, rows, 0, idx, src)
            dX = xp.moveaxis(xp.reshape(rows, (n, h, w, c)), -1, 1)
        if self.needs[1]:
            sx, sy = cubic_slopes(self.fracs[0]), cubic_slopes(self.fracs[1])
            gx = gy = None
            for k, (idx, inside, _) in enumerate(self.corners):
                i, j = divmod(k, 4)
                v = xp.where(inside[:, None], xp.take(self.rows, idx, axis=0), 0.0)
                s = xp.sum(v * dYr, axis=1)  # dY . X_ij over the channels
                tx, ty = s * sx[j] * self.wy[i], s * self.wx[j] * sy[i]
                gx = tx if gx is None else gx + tx
                gy = ty if gy is None else gy + ty
            dG = xp.reshape(xp.stack([gx * self.scales[0], gy * self.scales[1]], axis=-1),
                            self.g_shape)
        return dX, dG

    def backward_graph(self, dY):
        raise NotImplementedError("grid_sample(mode='bicubic'): xpnn has no create_graph "
                                  "backward for bicubic sampling (bilinear and nearest have)")
