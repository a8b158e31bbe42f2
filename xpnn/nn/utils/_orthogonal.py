"""Orthogonal parametrization (PyTorch's ``torch.nn.utils.parametrizations.orthogonal``):
the weight is an orthogonal matrix (orthonormal columns if tall, rows if wide) built from
an unconstrained one by the matrix exponential or Cayley map of a skew-symmetric matrix, or
by a product of Householder reflections.
"""
from __future__ import annotations

from ... import backend as B
from ... import functional as F
from ... import linalg
from ...autograd import no_grad
from ...creation import eye, randn
from ...tensor import Tensor
from ..module import Module
from . import parametrize

_MAPS = ("matrix_exp", "cayley", "householder")


def _make_orthogonal(A):
    """The Q of A = QR (A tall) with R's diagonal made non-negative."""
    Q, R = linalg.qr(A)
    return Q * F.sign(R.diagonal(dim1=-2, dim2=-1)).unsqueeze(-2)


def _is_orthogonal(Q):
    n, k = Q.shape[-2], Q.shape[-1]
    eps = 10.0 * n * B.finfo(Q.dtype).eps
    return bool(F.allclose(Q.mT @ Q, eye(k, dtype=Q.dtype, device=Q.device), atol=eps))


class _Orthogonal(Module):
    """Q from an unconstrained X of the weight's shape (a batch of matrices); with
    ``use_trivialization`` (Lezcano-Casado 2019, https://arxiv.org/abs/1909.09501), Q is
    ``base @ map(X)``, ``base`` a buffer set by ``right_inverse``."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map == "householder":
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            # the sign of each reflection from X's diagonal (as torch, truncated to an int)
            sign = X.diagonal(dim1=-2, dim2=-1).detach().int().to(X.dtype)
            Q = linalg.householder_product(A, tau) * sign.unsqueeze(-2)
        else:
            X = X.tril()
            if n != k:
                X = F.cat([X, X.new_zeros(*X.shape[:-2], n, n - k)], -1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == "matrix_exp":
                Q = linalg.matrix_exp(A)
            else:  # Cayley: (I - A/2)^-1 (I + A/2)
                Id = eye(n, dtype=A.dtype, device=A.device)
                Q = linalg.solve(Id - A * 0.5, Id + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        if getattr(self, "base", None) is not None:  # None only inside right_inverse
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q):
        """X whose Q is ``Q`` (orthogonalized by QR first if it is not orthogonal)."""
        if tuple(Q.shape) != tuple(self.shape):
            raise ValueError(f"orthogonal: expected a matrix or batch of matrices of shape "
                             f"{tuple(self.shape)}, got a tensor of shape {tuple(Q.shape)}")
        if not hasattr(self, "base"):
            raise NotImplementedError(
                "orthogonal: cannot assign to the matrix_exp or cayley parametrization "
                "with use_trivialization=False")
        with no_grad():
            shape = Q.shape
            n, k = Q.shape[-2], Q.shape[-1]
            if n < k:
                Q = Q.mT
                n, k = k, n
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:  # complete the columns to a square orthogonal matrix
                extra = randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(F.cat([Q, extra], -1))
            self.base = Q
            # the X that every map sends to the identity's first columns: -I, with +0.0 off
            # the diagonal as PyTorch's (-eye would hold -0.0 there, printed "-0.")
            neg_id = 0.0 - eye(shape[-2], shape[-1], dtype=Q.dtype, device=Q.device)
            return neg_id.expand(*shape).clone()


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` (a matrix or a batch of them) to be orthogonal: Q^T Q = I
    if tall, Q Q^T = I if wide.

    Args:
        module: the Module. name: its parameter or buffer.
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; None for
            matrix_exp on square matrices, householder otherwise.
        use_trivialization: keep a buffer ``parametrizations.<name>[0].base`` that Q is
            multiplied into (faster convergence); the initial Q is the weight itself if
            orthogonal, its QR's Q otherwise.
    Returns:
        ``module``, with ``parametrizations.<name>.original`` holding the unconstrained X.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"orthogonal: {type(module).__name__} has no parameter or buffer "
                         f"named {name!r}")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: expected a matrix or batch of matrices, got a tensor "
                         f"of {weight.ndim} dimensions")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f"orthogonal: orthogonal_map has to be one of {', '.join(_MAPS)}, "
                         f"got {orthogonal_map!r}")
    if not use_trivialization and orthogonal_map == "householder":
        # torch starts from the Householder vectors of the weight's QR (LAPACK's geqrf),
        # which xpnn's array-API linalg does not expose
        raise NotImplementedError("orthogonal: orthogonal_map='householder' with "
                                  "use_trivialization=False is not implemented in xpnn; "
                                  "use the default use_trivialization=True")
    parametrize.register_parametrization(
        module, name, _Orthogonal(weight, orthogonal_map,
                                  use_trivialization=use_trivialization), unsafe=True)
    return module
