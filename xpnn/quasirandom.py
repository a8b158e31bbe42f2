"""``torch.quasirandom``: :class:`SobolEngine`, the Sobol' low-discrepancy sequence (Sobol,
1967) with Joe and Kuo's direction numbers (2008; :mod:`xpnn._sobol_directions`), drawn in
Gray-code order (Antonov and Saleev, 1979) as PyTorch's engine: unscrambled, the points are
PyTorch's exactly.

The state is host data (NumPy integers), as PyTorch keeps it on the CPU; ``draw`` returns a
tensor on the default backend. ``scramble=True`` applies Owen-type linear matrix scrambling
(a random unit lower-triangular matrix over GF(2) per dimension) and a random digital shift,
the construction PyTorch uses, but from xpnn's generators: the scrambled points are a
different randomization than PyTorch's for the same seed, with the same properties (each
point uniform on the cube, the (t, s)-net balance of every 2^m-point block kept).
"""
from __future__ import annotations

from . import backend as B
from ._errors import ArgumentError
from ._sobol_directions import TABLE
from .creation import tensor

__all__ = ["SobolEngine"]

_np = B.np
_ROWS = TABLE.split("\n")[:-1]


def _direction_numbers(dimension, maxbit):
    """(dimension, maxbit) int64: V[d, j] = m_j 2^(maxbit - 1 - j), the m_j of dimension d
    extended past its initial values by the recurrence of its primitive polynomial."""
    V = _np.zeros((dimension, maxbit), dtype=_np.int64)
    V[0] = 1
    for d in range(1, dimension):
        poly, *init = (int(v) for v in _ROWS[d].split())
        s = poly.bit_length() - 1
        m = init[:s] + [0] * (maxbit - s)
        for j in range(s, maxbit):
            new = m[j - s] ^ (m[j - s] << s)
            for k in range(1, s):  # the inner coefficients a_k of the polynomial
                if (poly >> (s - k)) & 1:
                    new ^= m[j - k] << k
            m[j] = new
        V[d] = m[:maxbit]
    return V << _np.arange(maxbit - 1, -1, -1, dtype=_np.int64)


def _gray_points(V, base, first, count):
    """The points numbered first .. first + count - 1 (point 0 is ``base``): point p is
    base XOR the directions at the set bits of p's Gray code p ^ (p >> 1)."""
    p = _np.arange(first, first + count, dtype=_np.int64)
    gray = p ^ (p >> 1)
    out = _np.broadcast_to(base, (count, V.shape[0])).copy()
    for j in range(V.shape[1]):
        bit = ((gray >> j) & 1).astype(bool)
        out[bit] ^= V[:, j]
    return out


class SobolEngine:
    """A Sobol' sequence generator, as ``torch.quasirandom.SobolEngine``.

    Args:
        dimension: the dimension of the points, 1 .. 1111 (PyTorch: 21201; xpnn carries
            Joe and Kuo's first 1111 dimensions).
        scramble: scramble the sequence (see the module note: not PyTorch's draws).
        seed: the seed of the scrambling (None: drawn from xpnn's host generator).
    """

    MAXBIT = 30
    MAXDIM = len(_ROWS)

    def __init__(self, dimension, scramble=False, seed=None):
        if isinstance(dimension, bool) or not isinstance(dimension, int) or \
                not 1 <= dimension <= self.MAXDIM:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is "
                             f"[1, {self.MAXDIM}], got {dimension!r}")
        self.seed, self.scramble, self.dimension = seed, bool(scramble), dimension
        self.sobolstate = _direction_numbers(dimension, self.MAXBIT)
        if self.scramble:
            self._scramble()
        else:
            self.shift = _np.zeros(dimension, dtype=_np.int64)
        self.num_generated = 0

    def _scramble(self):
        rng = _np.random.default_rng(self.seed) if self.seed is not None else B.host_rng()
        bits = self.MAXBIT
        self.shift = rng.integers(0, 2, (self.dimension, bits), dtype=_np.int64) @ \
            (_np.int64(1) << _np.arange(bits, dtype=_np.int64))
        L = _np.tril(rng.integers(0, 2, (self.dimension, bits, bits), dtype=_np.int64), -1)
        L[:, _np.arange(bits), _np.arange(bits)] = 1  # unit diagonal: invertible over GF(2)
        place = _np.arange(bits - 1, -1, -1, dtype=_np.int64)  # bit r is worth 2^(bits-1-r)
        V = (self.sobolstate[:, :, None] >> place) & 1  # (dim, j, r), most significant first
        V = _np.einsum("drk,djk->djr", L, V) & 1
        self.sobolstate = (V << place).sum(-1)

    def _points(self, first, count, dtype):
        q = _gray_points(self.sobolstate, self.shift, first, count)
        dt = B.get_default_dtype() if dtype is None else B.dtype_name(dtype)
        if dt not in ("float16", "bfloat16", "float32", "float64"):
            raise ArgumentError(f"SobolEngine.draw: dtype must be floating, got {dtype!r}")
        return tensor(q / float(1 << self.MAXBIT), dtype=dt)

    def draw(self, n=1, out=None, dtype=None):
        """The next ``n`` points, an (n, dimension) tensor in ``dtype`` (default: the
        default float dtype), on the default backend."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ArgumentError(f"SobolEngine.draw: n must be a non-negative int, got {n!r}")
        result = self._points(self.num_generated, n, dtype)
        self.num_generated += n
        if out is not None:  # PyTorch resizes out to the points, keeping its dtype
            result = result.to(dtype=out.dtype, backend=out._be.name, device=out._be.device)
            if tuple(out.shape) == tuple(result.shape):
                out.copy_(result)
            else:
                out.data = result
            return out
        return result

    def draw_base2(self, m, out=None, dtype=None):
        """The next 2**m points; the total drawn must stay a power of 2 (the balance of
        the Sobol' nets), else ValueError."""
        n = 2 ** m
        total_n = self.num_generated + n
        if total_n & (total_n - 1):
            raise ValueError(f"The balance properties of Sobol' points require n to be a "
                             f"power of 2. {self.num_generated} points have been previously "
                             f"generated, then: n={self.num_generated}+2**{m}={total_n}. If "
                             f"you still want to do this, please use 'SobolEngine.draw()' "
                             f"instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self):
        """Back to the first point."""
        self.num_generated = 0
        return self

    def fast_forward(self, n):
        """Skip ``n`` points (as drawing them without using them)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ArgumentError(f"SobolEngine.fast_forward: n must be a non-negative int, "
                                f"got {n!r}")
        self.num_generated += n
        return self

    def __repr__(self):
        parts = [f"dimension={self.dimension}"]
        if self.scramble:
            parts.append("scramble=True")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(parts)})"
