"""The LSTM cell's CuPy kernels: one fused elementwise kernel per time step each way, in the
table LSTMLayer (recurrent.py) looks up by backend name."""
from __future__ import annotations


# The LSTM cell's elementwise work on CuPy, one kernel per step each way (the portable loop
# launches about twenty forward and eight backward). z holds the four scaled pre-activations
# (see LSTMLayer: sigmoid(x) = 0.5 + 0.5 tanh(x / 2), the 1/2 folded into the weights); z, G
# and dz are (N, 4H) row-major and read by index (k-th gate of element i at base + k H), the
# (N, H) arrays by CuPy's indexing. No variable may be called i: CuPy's kernels loop over i.
_GATES = ("const T half = 0.5;"
          "long long n_ = i / H, base = 3 * H * n_ + i;"
          "T ti = tanh(z[base]), tf = tanh(z[base + H]), tg = tanh(z[base + 2 * H]),"
          "  to = tanh(z[base + 3 * H]);"
          "T ig = ti * half + half, fg_ = tf * half + half, og_ = to * half + half;"
          "c = fg_ * cp + ig * tg; T tc = tanh(c); h = og_ * tc; h2 = h;")


def _lstm_forward_cupy(be, z, c_prev, h_out, h_next, saved):
    """One step: the new cell state c (returned), h written to ``h_out`` and ``h_next`` (the
    next step's input slot), and with ``saved`` = (G_t, Og_t, Fg_t) what the backward needs,
    as LSTMLayer.forward's portable loop writes it."""
    H = c_prev.shape[-1]
    c = be.lib.empty(c_prev.shape, dtype=c_prev.dtype)
    if saved is None:
        be.kernel("xpnn_lstm_step", "raw T z, T cp, int64 H", "T c, T h, T h2", _GATES)(
            z, c_prev, H, c, h_out, h_next)
        return c
    G, Og, Fg = saved
    be.kernel("xpnn_lstm_step_saving", "raw T z, T cp, int64 H",
              "T c, T h, T h2, T og, T fg, raw T G",
              _GATES + "const T quarter = 0.25, one = 1;"
              "G[base] = tg * (quarter - quarter * ti * ti);"
              "G[base + H] = cp * (quarter - quarter * tf * tf);"
              "G[base + 2 * H] = ig * (one - tg * tg);"
              "G[base + 3 * H] = tc * (quarter - quarter * to * to);"
              "og = (tc * tc - one) * og_; fg = fg_;")(
        z, c_prev, H, c, h_out, h_next, Og, Fg, G)
    return c


def _lstm_backward_cupy(be, dh, dy, dc, G, Og, Fg, dz):
    """One backward step: dh += dy; dc -= dh Og; dz = [dc, dc, dc, dh] G written to ``dz``;
    returns the carried dc * Fg."""
    H = dc.shape[-1]
    dc_out = be.lib.empty(dc.shape, dtype=dc.dtype)
    be.kernel("xpnn_lstm_step_back", "T dh_in, T dy, T dc_in, T og, T fg, raw T G, int64 H",
              "T dc_out, raw T dz",
              "long long base = 3 * H * (i / H) + i; T dh = dh_in + dy, dc = dc_in - dh * og;"
              "dz[base] = dc * G[base]; dz[base + H] = dc * G[base + H];"
              "dz[base + 2 * H] = dc * G[base + 2 * H]; dz[base + 3 * H] = dh * G[base + 3 * H];"
              "dc_out = dc * fg;")(dh, dy, dc, Og, Fg, G, H, dc_out, dz)
    return dc_out


# Native LSTM steps by backend name: (forward step, backward step); LSTMLayer uses them for
# float32/float64 without a projection.
LSTM_CELL = {"cupy": (_lstm_forward_cupy, _lstm_backward_cupy)}
