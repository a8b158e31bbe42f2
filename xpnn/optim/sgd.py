"""SGD with optional momentum, Nesterov momentum, weight decay and maximisation."""
from __future__ import annotations

from ..functional.indexing import index_add
from .optimizer import Optimizer, check_flags, check_hyper, slot_tensor
from .sparse_adam import grad_rows


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation of (Nesterov) momentum.

    Momentum as in Sutskever et al., "On the importance of initialization and momentum in
    deep learning" (ICML 2013), http://proceedings.mlr.press/v28/sutskever13.html. Per step,
    with ``g`` the gradient::

        g = -g if maximize;   g = g + weight_decay * p
        b = g (first step),   b = momentum * b + (1 - dampening) * g (later steps)
        g = g + momentum * b if nesterov else b
        p = p - lr * g

    Args:
        params: Parameters, or dicts of ``{"params": [...], hyperparameter: value}``.
        lr: learning rate (>= 0).
        momentum: momentum factor (>= 0); 0 keeps no buffer.
        dampening: dampening of the momentum (in [0, 1]).
        weight_decay: L2 penalty added to the gradient (>= 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening == 0).
        maximize: ascend the objective instead of descending.
        foreach, differentiable, fused: PyTorch's implementation switches (see
            :func:`~xpnn.optim.optimizer.check_flags`).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        check_flags("SGD", foreach, False, differentiable, fused)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _validate(self, group):
        check_hyper("SGD", "lr", group["lr"])
        momentum = check_hyper("SGD", "momentum", group["momentum"])
        dampening = check_hyper("SGD", "dampening", group["dampening"], 0.0, 1.0, False)
        check_hyper("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening == 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    _complex_params = True  # the update is linear in the gradient: right for complex too

    def init_state(self, param, group=None):
        """No slots until the first step: PyTorch starts the momentum buffer at the first
        (undampened) gradient, not at zero, and a zero slot would change the trajectory."""
        state = self.state[param] = {}
        return state

    def _sparse_step(self, p, group):
        """A sparse ``.grad`` (Embedding(sparse=True)), torch's rules: weight decay refused
        (torch would add the dense param to the sparse gradient); without momentum only the
        gradient's rows change. The momentum buffer is kept dense (torch keeps a sparse one
        holding the same values: rows never seen are zero)."""
        if float(group["weight_decay"]) != 0.0:
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        lr, momentum = float(group["lr"]), float(group["momentum"])
        rows, g = grad_rows("SGD", p, group["maximize"])
        be = p._be
        if momentum != 0.0:
            state = self.state.get(p) or self.init_state(p, group)
            buf_t = state.get("momentum_buffer")
            if buf_t is None:
                buf = index_add(be, be.xp.zeros(p.array.shape, dtype=p.dtype,
                                                 device=be.device), 0, rows, g)
                buf_t = state["momentum_buffer"] = slot_tensor(p, buf)
            else:
                damp = float(group["dampening"])
                buf = buf_t.array
                buf *= momentum
                buf_t.array = buf = index_add(be, buf, 0, rows,
                                              g if damp == 0.0 else g * (1.0 - damp))
            if not group["nesterov"]:
                p.array -= buf * lr
                return
            p.array -= buf * (momentum * lr)  # the step along g + momentum * buf
        p.array = index_add(be, p.array, 0, rows, g * -lr)

    def _update_group(self, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        damp, nesterov = float(group["dampening"]), group["nesterov"]
        for p, g, state in self._params_with_grad(group, with_state=momentum != 0.0):
            if momentum != 0.0:
                buf_t = state.get("momentum_buffer")
                if buf_t is None:
                    buf = p.xp.asarray(g, copy=True)
                    state["momentum_buffer"] = slot_tensor(p, buf)
                else:  # the array the slot holds now, written back (see Adam)
                    buf = buf_t.array
                    buf *= momentum
                    buf += g if damp == 0.0 else g * (1.0 - damp)
                    buf_t.array = buf
                if nesterov:
                    ahead = buf * momentum
                    ahead += g
                    g = ahead
                else:
                    g = buf
            p.array -= g * lr
