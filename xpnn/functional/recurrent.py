"""Recurrent layers: one fused node per layer and direction over the whole sequence.

Each Function takes a time-major sequence X (T, N, I), runs the recurrence with plain ``xp``
ops, saves the gate activations of every step, and writes back-propagation through time by
hand, so a 100-step LSTM adds one node to the graph instead of ~1000. Weight layouts and gate
orders are PyTorch's: RNN one block, LSTM (i, f, g, o), GRU (r, z, n) with b_hn inside
r * (W_hn h + b_hn), so a PyTorch state dict gives the same numbers.

Choices for speed (the math is unchanged):
- RNN and LSTM run one product per step, [x_t, h_{t-1}, 1] @ [W_ih, W_hh, b]^T, on a
  (T, N, I + H + 1) buffer holding the inputs, each step's starting state and ones
  (:func:`_stacked`); the weight gradients are then one product, dZ^T [X, H_prev], after
  the backward loop. Against a projection X W_ih^T + b of all steps first plus an add per
  step, no (T, N, G*H) buffer is written and read again (16 MB for the 64 x 64 x 256
  benchmark LSTM; its training step went 88.6 -> 83.6 ms). GRU, whose b_hn sits inside
  r * (W_hn h + b_hn), projects the inputs first. Only the state's product runs per step
  in the backward (dZ @ W_hh). On NumPy every product is split over xpnn's CPU threads
  (linalg.mm2d), in a hot region (xpnn.cpu.pool.hot) so that the helper thread spins
  between the small per-step products. The LSTM starts each step's product as soon as
  the new state is in XH (linalg.mm2d_start) and computes the previous step's saved values
  while the helper thread wakes up and works on its block (forward of the 64 x 64 x 256
  benchmark LSTM: 27.5-28.6 -> 24.9-25.2 ms, alternating processes). Running whole batch
  blocks of the loop on separate threads was measured slower: the per-step elementwise
  calls, each taking and releasing the GIL, made the two threads wait on each other (LSTM
  64x64x256: 135 ms a step, 91 ms with split products, 127 ms on one thread);
- sigmoid(x) = 0.5 + 0.5 tanh(x / 2). Scaling the sigmoid gates' rows of W and b by 1/2 (a
  power of two, so exact) once per call turns the four LSTM gates into one tanh over (N, 4H)
  plus one multiply-add, instead of four separate activations;
- what the backward needs is written into a few (T, N, .) buffers instead of kept as one
  fresh array per step (fresh pages are costly), and in-place ``+=``/``*=`` (standard Array
  API operators) on step temporaries avoid further allocations; on NumPy the LSTM builds
  each step's saved gate factors in their slot, a quarter of the columns at a time, instead
  of multiplying an (N, 4H) concatenation into it (forward of the 64 x 64 x 256 benchmark
  LSTM on an Intel Xeon: median 42.6 -> 40.6 ms, ten alternating processes);
- with no graph to record (``no_grad``, or nothing requiring grad: ``self.record`` is False)
  nothing is saved.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function
from .broadcast import quiet
from .linalg import mm2d, mm2d_start, product_loop, reused
from .recurrent_cupy import LSTM_CELL  # CuPy's fused step kernels (tests swap this table)
from .recurrent_graph import recurrent_backward_graph
from .recurrent_steps import (_gate_affine, _input_projection, _keep, _prev_states,
                              _product_into, _stacked, _stacked_grads, _tiled, _transposed,
                              _weight_grads)

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")

# How much smaller the caller's block of the LSTM's started step product is where the
# forward saves values for the backward (linalg.mm2d_start's ``lead``): the caller computes
# the step's saved values first (~200 us on the benchmark LSTM's 64 x 321 x 1024 products,
# Intel Xeon host), the helper starts its block ~65 us after the hand-off. With 1/8 less
# the caller ended ~140 us after the helper; with 0.45 less the two end within ~10 us, and
# the forward went 36.4-37.1 -> 32.1-34.5 ms (alternating processes, benchmarks/stages.py);
# moving the first saved product (th^2) there too: 30.8-33.4 -> 29.3-31.4 ms.
# With nothing to save the caller has ~30 us of work and even blocks run fastest (no_grad
# forward 20.5-22.4 ms; 26.6-27.0 with 0.45 less).
SAVING_LEAD = 0.45
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


@quiet
class RNNLayer(Function):
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu."""

    def forward(self, X, h0, W_ih, W_hh, b_ih=None, b_hh=None, relu=False, reverse=False):
        xp = self.xp
        T, N, H = X.shape[0], X.shape[1], W_hh.shape[1]
        b = None if b_ih is None else b_ih + b_hh
        XH, W_allT = _stacked(self.be, X, h0, W_ih, W_hh, b, reverse)
        In, step = X.shape[2], -1 if reverse else 1
        h, Y = h0, xp.empty((T, N, H), dtype=X.dtype, device=X.device)
        with product_loop(self.be):
            for t in (range(T - 1, -1, -1) if reverse else range(T)):
                z = mm2d(self.be, XH[t, ...], W_allT)
                h = xp.maximum(z, 0.0) if relu else xp.tanh(z)
                Y[t, ...] = h
                if 0 <= t + step < T:
                    XH[t + step, :, In:In + H] = h
        self.XH, self.Y, self.W_ih, self.W_hh = XH, Y, W_ih, W_hh
        self.relu, self.reverse, self.has_bias = relu, reverse, b_ih is not None
        return Y, h

    def backward(self, dY, dhn):
        xp, Y, W_hh = self.xp, self.Y, self.W_hh
        T = Y.shape[0]
        dZ = xp.empty(Y.shape, dtype=Y.dtype, device=Y.device)
        dh, W_step = dhn, reused(self.be, W_hh)
        with product_loop(self.be):
            for t in (range(T) if self.reverse else range(T - 1, -1, -1)):
                dh = dh + dY[t, ...]
                h = Y[t, ...]
                # tanh' = 1 - h^2; relu' = [h > 0]
                dz = xp.where(h > 0, dh, 0.0) if self.relu else dh * (1 - h * h)
                dZ[t, ...] = dz
                dh = mm2d(self.be, dz, W_step)
        dX, *dW = _stacked_grads(self.be, self.needs, dZ, self.XH, self.W_ih, W_hh.shape[1],
                                 self.has_bias)
        return (dX, dh, *dW)

    backward_graph = recurrent_backward_graph  # recurrent_graph.py: recomputed, recorded


@quiet
class LSTMLayer(Function):
    """Hochreiter & Schmidhuber (1997) with a forget gate, PyTorch's (i, f, g, o) layout.

    i, f, o = sigmoid(.), g = tanh(.), c_t = f c_{t-1} + i g, h_t = o tanh(c_t); with a
    projection (``proj``: the last input is W_hr (P, H), Sak et al. 2014) the state carried
    and returned is h_t = (o tanh(c_t)) W_hr^T, of size P.

    Each step is one product (see :func:`_stacked`); with a projection, a second one.

    With gates a = scale * tanh(z') + shift (z' the scaled pre-activation), the forward saves
    per step G = [g, c_{t-1}, i, tanh(c_t)] * da/dz and Og = o (tanh(c_t)^2 - 1), so that the
    backward step is dz = [dc, dc, dc, dh] * G, dc_{t-1} = f dc: five array ops per step.
    """

    def forward(self, X, h0, c0, W_ih, W_hh, *rest, reverse=False, proj=False):
        xp = self.xp
        W_hr = rest[-1] if proj else None
        b_ih, b_hh = rest[:2] if len(rest) - proj == 2 else (None, None)
        T, N, In = X.shape
        H = W_hh.shape[0] // 4
        P = H if W_hr is None else W_hr.shape[0]
        W_hrT = None if W_hr is None else reused(self.be, _transposed(xp, W_hr))
        scale, shift = _gate_affine(xp, X, H, "ssts")
        slope = scale * scale  # d(gate)/d(pre-activation) = scale^2 (1 - tanh^2)
        b = None if b_ih is None else (b_ih + b_hh) * scale
        XH, W_allT = _stacked(self.be, X, h0, W_ih * scale[:, None], W_hh * scale[:, None], b,
                              reverse)
        dt, dev = X.dtype, X.device
        h, c = h0, c0
        # Long-lived per-step results go into a few big buffers (written by setitem) rather
        # than one fresh array per step: freshly mapped pages cost more than the copies.
        Y = xp.empty((T, N, P), dtype=dt, device=dev)
        save = self.record
        if save:
            G = xp.empty((T, N, 4 * H), dtype=dt, device=dev)
            Og = xp.empty((T, N, H), dtype=dt, device=dev)
            Fg = xp.empty((T, N, H), dtype=dt, device=dev)
            Hr = None if W_hr is None else xp.empty((T, N, H), dtype=dt, device=dev)
        step = -1 if reverse else 1
        cell = LSTM_CELL.get(self.be.name) if W_hr is None and B.kernel_floats(X, c0) \
            else None
        spare = None if cell is None else xp.empty_like(c0)  # the last step's h_next
        if cell is None:  # the per-column constants as (N, 4H) arrays: NumPy runs an
            # in-place op with a full operand ~2x faster than with a broadcast row (64 x 1024
            # float32: 5.2 vs 9.8 us), and a step has four such ops
            scale_t, shift_t = _tiled(xp, scale, N), _tiled(xp, shift, N)
            slope_t, neg_slope_t = _tiled(xp, slope, N), _tiled(xp, -slope, N)
        order = range(T - 1, -1, -1) if reverse else range(T)
        with product_loop(self.be):
            if cell is not None:
                for t in order:
                    z = mm2d(self.be, XH[t, ...], W_allT)
                    nxt = XH[t + step, :, In:In + P] if 0 <= t + step < T else spare
                    c = cell[0](self.be, z, c, Y[t, ...], nxt,
                                (G[t, ...], Og[t, ...], Fg[t, ...]) if save else None)
                    h = spare  # holds h once the last step has run
            elif T:
                # each step's product starts as soon as its input state is in XH, and the
                # previous step's saved values are computed while the helper threads work on
                # it (linalg.mm2d_start)
                lead = SAVING_LEAD if save else 0.0
                product = mm2d_start(self.be, XH[order[0], ...], W_allT, lead)
                try:
                    for t in order:
                        z = product()
                        th = xp.tanh(z)
                        a = th * scale_t  # (N, 4H): i f g o (th is kept for the saving)
                        a += shift_t
                        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                        c_prev, c = c, f * c
                        c += i * g
                        tc = xp.tanh(c)
                        h = o * tc
                        if W_hr is not None:
                            if save:
                                Hr[t, ...] = h
                            h = mm2d(self.be, h, W_hrT)
                        if 0 <= t + step < T:
                            XH[t + step, :, In:In + P] = h
                            product = mm2d_start(self.be, XH[t + step, ...], W_allT, lead)
                        Y[t, ...] = h
                        if save:  # G[t] = slope * (1 - th^2) * [g, c_prev, i, tc]
                            d = _product_into(self.be, th, th, G, t)
                            d *= neg_slope_t
                            d += slope_t
                            d[:, :H] *= g  # a quarter at a time: no (N, 4H) concat
                            d[:, H:2 * H] *= c_prev
                            d[:, 2 * H:3 * H] *= i
                            d[:, 3 * H:] *= tc
                            _keep(self.be, d, G, t)
                            og = _product_into(self.be, tc, tc, Og, t)
                            og -= 1
                            og *= o
                            _keep(self.be, og, Og, t)
                            Fg[t, ...] = f
                finally:  # after an error, the helper threads finish before it is raised
                    product()
        if save:
            self.XH, self.G, self.Og, self.Fg = XH, G, Og, Fg
            self.W_ih, self.W_hh, self.W_hr, self.Hr = W_ih, W_hh, W_hr, Hr
            self.reverse, self.has_bias, self.P = reverse, b_ih is not None, P
            self.cell = cell
        return Y, h, c

    def backward(self, dY, dhn, dcn):
        xp, W_hh, G, Og, Fg = self.xp, self.W_hh, self.G, self.Og, self.Fg
        W_hr = self.W_hr
        T = G.shape[0]
        dZ = xp.empty(G.shape, dtype=G.dtype, device=G.device)
        if W_hr is not None:  # the gradient of each step's projected output, for dW_hr
            dHp = xp.empty(dY.shape, dtype=dY.dtype, device=dY.device)
        dh, dc = dhn, dcn
        W_step = reused(self.be, W_hh)
        W_hr_step = None if W_hr is None else reused(self.be, W_hr)
        with product_loop(self.be):
            for t in (range(T) if self.reverse else range(T - 1, -1, -1)):
                if self.cell is not None:
                    dc = self.cell[1](self.be, dh, dY[t, ...], dc, G[t, ...], Og[t, ...],
                                      Fg[t, ...], dZ[t, ...])
                    dh = mm2d(self.be, dZ[t, ...], W_step)
                    continue
                dh = dh + dY[t, ...]
                if W_hr is not None:  # back through h = h_raw W_hr^T
                    dHp[t, ...] = dh
                    dh = mm2d(self.be, dh, W_hr_step)
                dc = dc - dh * Og[t, ...]  # dc += dh * o * (1 - tanh(c)^2)
                dz = _keep(self.be, _product_into(self.be, xp.concat([dc, dc, dc, dh], axis=1),
                                                  G[t, ...], dZ, t), dZ, t)
                product = mm2d_start(self.be, dz, W_step)
                try:
                    dc = dc * Fg[t, ...]  # while the helper thread starts its block
                finally:  # (see the forward's)
                    dh = product()
        dX, *dW = _stacked_grads(self.be, self.needs, dZ, self.XH, self.W_ih, self.P,
                                 self.has_bias)
        if W_hr is None:
            return (dX, dh, dc, *dW)
        TN = T * dY.shape[1]
        dW_hr = mm2d(self.be, xp.matrix_transpose(xp.reshape(dHp, (TN, dHp.shape[-1]))),
                     xp.reshape(self.Hr, (TN, self.Hr.shape[-1])))
        return (dX, dh, dc, *dW, dW_hr)

    backward_graph = recurrent_backward_graph


@quiet
class GRULayer(Function):
    """Cho et al. (2014), PyTorch's form: r, z = sigmoid(.), n = tanh(W_in x + b_in +
    r (W_hn h + b_hn)), h_t = (1 - z) n + z h_{t-1}.

    The r and z rows of the weights and biases are pre-scaled by 1/2, so both gates are
    0.5 + 0.5 tanh(.) of one (N, 2H) slab.
    """

    def forward(self, X, h0, W_ih, W_hh, b_ih=None, b_hh=None, reverse=False):
        xp = self.xp
        T, N, H = X.shape[0], X.shape[1], W_hh.shape[1]
        scale, _ = _gate_affine(xp, X, H, "sst")
        Zx = _input_projection(self.be, X, W_ih * scale[:, None],
                               None if b_ih is None else b_ih * scale)
        W_hhT = reused(self.be, _transposed(xp, W_hh * scale[:, None]))
        b_hh = None if b_hh is None else b_hh * scale
        dt, dev = X.dtype, X.device
        Y = xp.empty((T, N, H), dtype=dt, device=dev)
        save = self.record
        if save:  # r, z, n and W_hn h + b_hn of every step, for the backward
            RZ = xp.empty((T, N, 2 * H), dtype=dt, device=dev)
            Ng, HN = xp.empty((T, N, H), dtype=dt, device=dev), xp.empty((T, N, H), dtype=dt,
                                                                        device=dev)
        h = h0
        with product_loop(self.be):
            for t in (range(T - 1, -1, -1) if reverse else range(T)):
                zx = Zx[t, ...]
                zh = mm2d(self.be, h, W_hhT)
                if b_hh is not None:
                    zh += b_hh
                rz = zh[:, :2 * H] + zx[:, :2 * H]
                rz = xp.tanh(rz)
                rz *= 0.5
                rz += 0.5
                r, z, hn = rz[:, :H], rz[:, H:], zh[:, 2 * H:]
                n = r * hn
                n += zx[:, 2 * H:]
                n = xp.tanh(n)
                h = h - n  # h_t = n + z (h_{t-1} - n)
                h *= z
                h += n
                Y[t, ...] = h
                if save:
                    RZ[t, ...], Ng[t, ...], HN[t, ...] = rz, n, hn
        if save:
            self.X, self.h0, self.Y, self.RZ, self.Ng, self.HN = X, h0, Y, RZ, Ng, HN
            self.W_ih, self.W_hh, self.H = W_ih, W_hh, H
            self.reverse, self.has_bias = reverse, b_ih is not None
        return Y, h

    def backward(self, dY, dhn):
        xp, W_hh, H = self.xp, self.W_hh, self.H
        T = self.Y.shape[0]
        Hprev = _prev_states(xp, self.Y, self.h0, self.reverse)
        dZx = xp.empty((T, self.Y.shape[1], 3 * H), dtype=self.Y.dtype, device=self.Y.device)
        dZh = xp.empty(dZx.shape, dtype=dZx.dtype, device=dZx.device)
        dh, W_step = dhn, reused(self.be, W_hh)
        with product_loop(self.be):
            for t in (range(T) if self.reverse else range(T - 1, -1, -1)):
                rz, n, hn = self.RZ[t, ...], self.Ng[t, ...], self.HN[t, ...]
                r, z = rz[:, :H], rz[:, H:]
                dh = dh + dY[t, ...]
                dn = dh * (1 - z) * (1 - n * n)  # through tanh: d(pre-activation of n)
                dz = dh * (Hprev[t, ...] - n) * (z - z * z)
                dr = dn * hn * (r - r * r)
                dzx = xp.concat([dr, dz, dn], axis=1)
                dZx[t, ...] = dzx
                dzx[:, 2 * H:] = dn * r  # hidden side: b_hn sits inside r * (...)
                dZh[t, ...] = dzx
                dh = dh * z + mm2d(self.be, dzx, W_step)
        dX, *dW = _weight_grads(self.be, self.needs, self.X, Hprev, dZx, dZh, self.W_ih,
                                self.has_bias)
        return (dX, dh, *dW)

    backward_graph = recurrent_backward_graph


def recurrent_layer(mode, x, hx, weights, reverse=False, proj=False):
    """Run one layer in one direction over a time-major sequence, as one graph node.

    Args:
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        x: (T, N, input_size) Tensor.
        hx: the initial state, (N, hidden_size); for LSTM a pair (h0, c0).
        weights: (W_ih (G*H, I), W_hh (G*H, H)) or with (b_ih, b_hh) (G*H,) appended,
            G = 1, 4, 3 for RNN, LSTM, GRU.
        reverse: run from the last step to the first (the backward half of a bidirectional
            layer); outputs stay aligned with the inputs' time steps.
        proj: LSTM only: the last weight is W_hr (P, H), W_hh is (4H, P) and the hidden
            state (h0, output, h_n) has size P instead of H.
    Returns:
        (output (T, N, H), h_n (N, H)), and c_n (N, H) as a third item for LSTM.
    """
    if mode not in MODES:
        raise ValueError(f"recurrent_layer: mode must be one of {MODES}, got {mode!r}")
    weights = tuple(weights)
    if proj and mode != "LSTM":
        raise ValueError(f"recurrent_layer: a projection (proj=True) is LSTM only, got mode "
                         f"{mode!r}")
    if mode == "LSTM":
        return LSTMLayer.apply(x, *hx, *weights, reverse=reverse, proj=bool(proj))
    if mode == "GRU":
        return GRULayer.apply(x, hx, *weights, reverse=reverse)
    return RNNLayer.apply(x, hx, *weights, relu=mode == "RNN_RELU", reverse=reverse)


def zeros_state(like, N, H):
    """A zero initial state (N, H) on ``like``'s backend, dtype and device (no grad)."""
    xp = like.xp
    return like._result(xp.zeros((N, H), dtype=like.dtype, device=like._be.device), like._be)
