"""SparseAdam (PyTorch's lazy Adam for sparse gradients) and the row view of a sparse
gradient that SGD and Adagrad's sparse paths share."""
from __future__ import annotations

import math

from ..functional.indexing import index_add
from .optimizer import Optimizer, zeros_like_param


def grad_rows(owner, p, maximize=False, coalesce=False):
    """``p.grad`` (a sparse COO tensor with one sparse dim, as ``Embedding(sparse=True)``
    gives) as (rows (nnz,) int64, values (nnz, *p.shape[1:])) arrays; negated for
    ``maximize``; duplicates summed first with ``coalesce`` (a non-linear update)."""
    S = p.grad
    if S.sparse_dim() != 1:
        raise NotImplementedError(f"{owner}: xpnn updates from sparse gradients with one "
                                  f"sparse dim (rows of a table), got {S.sparse_dim()} sparse "
                                  f"dims for a parameter of shape {tuple(p.shape)}")
    if coalesce:
        S = S.detach().coalesce()
    rows, vals = S._i.array[0, :], S._v.array
    return rows, (-vals if maximize else vals)


class SparseAdam(Optimizer):
    """Adam for sparse gradients, as ``torch.optim.SparseAdam`` (lazy Adam): only the rows
    present in the gradient update their moments and their parameter values. Kingma & Ba,
    "Adam: A Method for Stochastic Optimization" (ICLR 2015),
    https://arxiv.org/abs/1412.6980.

    Per step t, with ``g`` the coalesced sparse gradient (``-g`` if maximize) and R its
    rows::

        m[R] = m[R] + (1 - beta1) * (g - m[R])
        v[R] = v[R] + (1 - beta2) * (g^2 - v[R])
        p[R] = p[R] - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m[R] / (sqrt(v[R]) + eps)

    Args:
        params: Parameters (dense, real), or dicts of ``{"params": [...], hyperparameter:
            value}``; their gradients must be sparse (``nn.Embedding(sparse=True)``).
        lr: learning rate (> 0).
        betas: decay rates of the moments, each in [0, 1).
        eps: added to the denominator (> 0).
        maximize: ascend the objective instead of descending.
    State per parameter: ``step`` (a Python int, as torch's), ``exp_avg``, ``exp_avg_sq``.
    """

    _scalar_slots = ("step",)
    _count_slots = ()  # step stays a Python int, as torch's SparseAdam keeps it

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        for kind, test in (("Sparse", lambda p: p.is_sparse),
                           ("Complex", lambda p: p.is_complex())):
            at = [[i, j] for i, group in enumerate(self.param_groups)
                  for j, p in enumerate(group["params"]) if test(p)]
            if at:
                raise ValueError(f"{kind} params at indices {at}: SparseAdam " +
                                 ("requires dense parameter tensors" if kind == "Sparse" else
                                  "does not support complex parameters"))

    def _validate(self, group):
        """torch's checks and messages (ValueError)."""
        lr, eps, betas = group["lr"], group["eps"], group["betas"]
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for k in (0, 1):
            if not 0.0 <= betas[k] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {k}: {betas[k]}")

    def init_state(self, param, group=None):
        """Step 0 and zero moments shaped like the parameter."""
        state = self.state[param] = {"step": 0, "exp_avg": zeros_like_param(param),
                                     "exp_avg_sq": zeros_like_param(param)}
        return state

    def _update_group(self, group):
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        todo = []
        for p in group["params"]:  # torch checks the whole group before updating any
            if p.grad is None:
                continue
            if not p.grad.is_sparse:
                raise RuntimeError("SparseAdam does not support dense gradients, please "
                                   "consider Adam instead")
            todo.append(p)
        for p in todo:
            state = self.state.get(p) or self.init_state(p, group)
            state["step"] += 1
            rows, g = grad_rows("SparseAdam", p, group["maximize"], coalesce=True)
            if rows.shape[0] == 0:
                continue
            t, xp, be = state["step"], p.xp, p._be
            m_t, v_t = state["exp_avg"], state["exp_avg_sq"]
            m_old = xp.take(m_t.array, rows, axis=0)
            m_step = (g - m_old) * (1.0 - beta1)
            m_t.array = index_add(be, m_t.array, 0, rows, m_step)
            v_old = xp.take(v_t.array, rows, axis=0)
            v_step = (g * g - v_old) * (1.0 - beta2)
            v_t.array = index_add(be, v_t.array, 0, rows, v_step)
            numer = m_step + m_old
            denom = xp.sqrt(v_step + v_old) + eps
            step_size = lr * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
            p.array = index_add(be, p.array, 0, rows, (numer / denom) * -step_size)
