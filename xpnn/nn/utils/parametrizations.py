"""Weight normalization and spectral normalization as parametrizations (PyTorch's
``torch.nn.utils.parametrizations``): ``weight_norm(m)`` keeps g and v in
``m.parametrizations.weight.original0/original1``; ``spectral_norm(m)`` keeps the weight in
``...original`` and the power iteration's vectors in the buffers
``m.parametrizations.weight[0]._u`` / ``._v``.
"""
from __future__ import annotations

from ... import functional as F
from ...autograd import no_grad
from ...tensor import Tensor
from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..module import Module
from . import parametrize


def _norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` over every axis but ``dim``, kept as size-1 axes (PyTorch's
    ``torch.norm_except_dim``); ``dim=-1`` is the norm of all of ``v`` (a 0-d tensor).

    Args:
        v: a floating tensor. pow: the norm's order. dim: the axis kept.
    Returns:
        Tensor of v's dtype: size ``v.shape[dim]`` along ``dim``, 1 elsewhere.
    """
    if dim == -1:
        return F.norm(v, pow)
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(f"weight_norm: dim {dim} is out of range for a tensor of "
                         f"{v.ndim} dimensions")
    dim %= v.ndim
    return F.norm(v, pow, dim=tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


def _weight_norm(v, g, dim):
    """w = g * v / ||v|| (the norm over every axis but ``dim``)."""
    return v * (g / _norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    """w = g v / ||v||, from (g, v) = (``original0``, ``original1``)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (Salimans & Kingma 2016,
    https://arxiv.org/abs/1602.07868), g and v trained in its place.

    Args:
        module: the Module. name: its parameter to reparametrize.
        dim: the axis whose slices get a magnitude each (0: one per output unit); None
            for one magnitude for the whole tensor.
    Returns:
        ``module``, with ``parametrizations.<name>.original0`` (g: ``||w||``, size 1 but
        along ``dim``) and ``original1`` (v: w itself).
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """W / sigma(W), sigma the largest singular value of W reshaped to a matrix with ``dim``
    first, estimated by power iteration on the buffers ``_u``, ``_v`` (updated in training
    mode only, without gradient)."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < ndim:
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a weight of "
                             f"{ndim} dimensions (expected in [{-ndim}, {ndim - 1}])")
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            w = self._matrix(weight)
            h, k = w.shape
            self.register_buffer("_u", F.normalize(w.new_empty(h).normal_(), dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(w.new_empty(k).normal_(), dim=0, eps=eps))
            self._power_method(w, 15)

    def _matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, w, n):
        # in place, as PyTorch's out=: a state_dict taken earlier sees the new vectors
        with no_grad():
            w = w.detach()
            for _ in range(n):
                self._u._assign(F.normalize(F.mv(w, self._v), dim=0, eps=self.eps).array)
                self._v._assign(F.normalize(F.mv(w.mT, self._u), dim=0, eps=self.eps).array)

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        w = self._matrix(weight)
        if self.training:
            self._power_method(w, self.n_power_iterations)
        # copies: the next training-mode call updates the buffers before this backward runs
        u, v = self._u.clone(), self._v.clone()
        return weight / F.vdot(u, F.mv(w, v))

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration (Miyato et
    al. 2018, https://arxiv.org/abs/1802.05957), on every access.

    Args:
        module: the Module. name: its parameter (or buffer) to normalize.
        n_power_iterations: power iteration steps per access in training mode.
        eps: the floor of the norms dividing u and v.
        dim: the axis taken as the matrix's rows (None: 1 for transposed convolutions,
            0 otherwise).
    Returns:
        ``module``, with ``parametrizations.<name>.original`` (the weight) and the buffers
        ``parametrizations.<name>.0._u`` (rows) and ``._v`` (columns), the last estimates
        of the top singular vectors; a 1-D weight is only divided by its norm.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter or buffer "
                         f"named {name!r}")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d,
                                       ConvTranspose3d)) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


from ._orthogonal import orthogonal  # noqa: E402  (re-exported under torch's path)

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]
