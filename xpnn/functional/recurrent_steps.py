"""The per-step plumbing of recurrent.py's layers: gate scales, the input projection and the
stacked [x, h, 1] buffer for one product per step, the weight gradients, and the NumPy kernel
that writes a step's saved product into its slot (see recurrent.py's doc for why).
"""
from __future__ import annotations

from .linalg import mm2d, reused


def _gate_affine(xp, X, H, pattern):
    """Per-column (scale, shift) vectors so that gate = scale * tanh(scale * z) + shift.

    ``pattern`` is a string with one letter per H-block: "s" sigmoid, "t" tanh.
    """
    scale = xp.concat([xp.full((H,), 0.5 if p == "s" else 1.0, dtype=X.dtype,
                               device=X.device) for p in pattern])
    shift = xp.concat([xp.full((H,), 0.5 if p == "s" else 0.0, dtype=X.dtype,
                               device=X.device) for p in pattern])
    return scale, shift


def _input_projection(be, X, W_ih, b):
    """X (T, N, I) @ W_ih^T (+ b): every step's input pre-activations in one GEMM."""
    xp = be.xp
    T, N, In = X.shape
    Z = mm2d(be, xp.reshape(X, (T * N, In)), xp.matrix_transpose(W_ih), b)
    return xp.reshape(Z, (T, N, W_ih.shape[0]))


def _weight_grads(be, needs, X, Hprev, dZx, dZh, W_ih, has_bias):
    """dX, dW_ih, dW_hh, db_ih, db_hh from the per-step pre-activation gradients.

    Args:
        X (T, N, I), Hprev (T, N, H): the input and the hidden state before each step.
        dZx, dZh (T, N, G*H): gradients of the input-side and hidden-side pre-activations
            (the same array except for GRU's n gate).
    """
    xp = be.xp
    T, N, In = X.shape
    G = dZx.shape[-1]
    dZx2 = xp.reshape(dZx, (T * N, G))
    dZh2 = dZx2 if dZh is dZx else xp.reshape(dZh, (T * N, G))
    dX = xp.reshape(mm2d(be, dZx2, W_ih), (T, N, In)) if needs[0] else None
    dW_ih = mm2d(be, xp.matrix_transpose(dZx2), xp.reshape(X, (T * N, In)))
    dW_hh = mm2d(be, xp.matrix_transpose(dZh2), xp.reshape(Hprev, (T * N, Hprev.shape[-1])))
    if not has_bias:
        return dX, dW_ih, dW_hh
    db_ih = xp.sum(dZx2, axis=0)
    db_hh = db_ih if dZh is dZx else xp.sum(dZh2, axis=0)
    return dX, dW_ih, dW_hh, db_ih, db_hh


def _transposed(xp, W):
    """W^T as a row-major copy: BLAS kernels (OpenBLAS's AVX-512 ones in particular) run the
    per-step h @ W^T up to ~1.3x faster than on a transposed view. Flattening in row-major
    order forces that copy on every backend (1 MB for H = 256, once per call)."""
    rows, cols = W.shape
    return xp.reshape(xp.reshape(xp.matrix_transpose(W), (-1,)), (cols, rows))


def _tiled(xp, row, N):
    """``row`` repeated as the N rows of a new row-major array."""
    out = xp.empty((N, row.shape[0]), dtype=row.dtype, device=row.device)
    out[...] = row
    return out


def _prev_states(xp, Y, h0, reverse):
    """The state each step started from: [h0, Y[0..T-2]] (or mirrored for reverse)."""
    if reverse:
        return xp.concat([Y[1:, ...], h0[None, ...]], axis=0)
    return xp.concat([h0[None, ...], Y[:-1, ...]], axis=0)


def _product_into_portable(be, a, b, buf, t):
    return a * b


def _product_into_numpy(be, a, b, buf, t):
    return be.lib.multiply(a, b, out=buf[t, ...])  # straight into the buffer: no temporary


# Native "buf[t] = a * b" by backend name (NumPy multiplies into the slot, and :func:`_keep`
# has nothing left to do); the others compute a fresh array, which _keep stores.
PRODUCT_INTO = {"numpy": _product_into_numpy}


def _product_into(be, a, b, buf, t):
    """``a * b`` for a step's saved result, to be changed in place and then stored in
    ``buf[t]`` by :func:`_keep` (on NumPy it is already that slot)."""
    return PRODUCT_INTO.get(be.name, _product_into_portable)(be, a, b, buf, t)


def _keep(be, value, buf, t):
    """Stores :func:`_product_into`'s result in ``buf[t]`` (NumPy's is there already);
    returns the stored step."""
    if PRODUCT_INTO.get(be.name) is None:
        buf[t, ...] = value
    return value


def _stacked(be, X, h0, W_ih, W_hh, b, reverse):
    """Inputs for ONE product per step, [x_t, h_before_t, 1] @ [W_ih, W_hh, b]^T (RNN and
    LSTM; GRU's b_hn sits inside r * (...), so it cannot take its bias this way):
    XH (T, N, I + P (+ 1)) holds every x_t, a slot for the state each step starts from (h0
    in the first step's; the loop writes each new state into the next step's slot) and a
    column of ones for the bias; W_allT is (I + P (+ 1), G*H), row-major (and
    :func:`~.linalg.reused`: every step multiplies by it)."""
    xp = be.xp
    T, N, In = X.shape
    P = W_hh.shape[1]
    blocks = [W_ih, W_hh] + ([xp.reshape(b, (-1, 1))] if b is not None else [])
    W_allT = _transposed(xp, xp.concat(blocks, axis=1))
    XH = xp.empty((T, N, W_allT.shape[0]), dtype=X.dtype, device=X.device)
    XH[:, :, :In] = X
    if b is not None:
        XH[:, :, In + P:] = 1
    XH[T - 1 if reverse else 0, :, In:In + P] = h0
    return XH, reused(be, W_allT)


def _stacked_grads(be, needs, dZ, XH, W_ih, P, has_bias):
    """dX, dW_ih, dW_hh (, db_ih, db_hh) from the pre-activation gradients dZ (T, N, G*H) and
    :func:`_stacked`'s XH: both weight gradients come from one product with [X, H_prev]."""
    xp = be.xp
    T, N, G = dZ.shape
    In = W_ih.shape[1]
    dZ2 = xp.reshape(dZ, (T * N, G))
    XH2 = xp.reshape(XH, (T * N, XH.shape[-1]))[:, :In + P]
    dX = xp.reshape(mm2d(be, dZ2, W_ih), (T, N, In)) if needs[0] else None
    dW = mm2d(be, xp.matrix_transpose(dZ2), XH2)
    grads = (dX, xp.asarray(dW[:, :In], copy=True), xp.asarray(dW[:, In:], copy=True))
    if not has_bias:
        return grads
    db = xp.sum(dZ2, axis=0)
    return grads + (db, db)
