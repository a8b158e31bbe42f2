"""Checks found while writing the round-19b tutorial programs (tests/pytorch_programs/
tutorials/hessian_free_newton.py, ntk_linearization.py, awd_lstm.py, multilabel_asl.py).

* ``torch.func.linearize`` was missing (ImportError in the NTK program's
  ``from torch.func import linearize``). xpnn/func.py now has it: ``(func(*primals),
  jvp_fn)``, ``jvp_fn(*tangents)`` giving ``J @ tangents`` at the saved primals (by
  :func:`xpnn.func.jvp` on each call, xpnn having no graph capture), differentiable with
  respect to the tangents (the linearized model is trained through them), refusing tangents
  whose structure, shape or dtype differ from the primals', naming ``linearize``.
* The replay harness (tests/pytorch_programs/replay.py) copied PyTorch's recorded normal draws
  through ``xpnn.tensor(values)``, which makes float32 of a float64 array (xpnn's rule: no
  silent float64): a float64 ``randn`` was replayed rounded to float32, so the Newton-CG
  program's float64 Hessian-vector products differed from PyTorch's at 1e-8 and its MLP's
  line search took other steps. The draw is now made in the drawn tensor's dtype.
"""
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402

RNG = np.random.default_rng(19)
A = RNG.standard_normal((5, 3))
X0 = RNG.standard_normal(3)
B0 = RNG.standard_normal(5)
TANGENTS = [(RNG.standard_normal(3), RNG.standard_normal(5)) for _ in range(2)]
# torch.func.linearize traces the function by torch.fx, which warns of a constant it folds
_FX_WARNING = "ignore:Attempted to insert a get_attr Node:UserWarning"


def _f(lib):
    a = lib.tensor(A, dtype=lib.float64)
    return lambda x, b: lib.tanh(a @ x + b) * x.sum()


@pytest.mark.filterwarnings(_FX_WARNING)
def test_func_linearize_matches_torch(backend):
    """linearize's output and its jvp_fn, called twice with other tangents, equal torch's."""
    out_t, fn_t = torch.func.linearize(_f(torch), torch.tensor(X0), torch.tensor(B0))
    out_x, fn_x = xpnn.func.linearize(_f(xpnn), xpnn.tensor(X0, dtype=xpnn.float64),
                                      xpnn.tensor(B0, dtype=xpnn.float64))
    np.testing.assert_allclose(to_np(out_x), out_t.numpy(), rtol=1e-12)
    assert not out_x.requires_grad
    for tx, tb in TANGENTS:
        want = fn_t(torch.tensor(tx), torch.tensor(tb)).numpy()
        got = fn_x(xpnn.tensor(tx, dtype=xpnn.float64), xpnn.tensor(tb, dtype=xpnn.float64))
        np.testing.assert_allclose(to_np(got), want, rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings(_FX_WARNING)
def test_func_linearize_dict_primals_trains_through_tangents(backend):
    """A linearized module (dict of parameters through functional_call) is differentiable
    with respect to the tangents, as torch's, so a linear model can be trained by them."""
    grads = {}
    for lib in (torch, xpnn):
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            model.weight.copy_(lib.tensor(A[:2], dtype=lib.float64))
            model.bias.copy_(lib.tensor(B0[:2], dtype=lib.float64))
        x = lib.tensor(A, dtype=lib.float64)
        params = {k: v.detach() for k, v in model.named_parameters()}
        out, jvp_fn = lib.func.linearize(
            lambda p: lib.tanh(lib.func.functional_call(model, p, (x,))), params)
        delta = {k: lib.zeros_like(v).requires_grad_(True) for k, v in params.items()}
        with lib.no_grad():
            delta["weight"] += 0.1
        loss = (out + jvp_fn(delta)).pow(2).sum()
        loss.backward()
        grads[lib.__name__] = (loss.item(), to_np(delta["weight"].grad),
                               to_np(delta["bias"].grad))
    for got, want in zip(grads["xpnn"], grads["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_func_linearize_refuses_mismatched_tangents():
    """Tangents of another shape, dtype or structure: RuntimeError naming linearize (torch
    raises RuntimeError too)."""
    _, fn = xpnn.func.linearize(_f(xpnn), xpnn.tensor(X0, dtype=xpnn.float64),
                                xpnn.tensor(B0, dtype=xpnn.float64))
    with pytest.raises(RuntimeError, match=r"linearize's jvp_fn: tangent 1 has shape \(4,\)"):
        fn(xpnn.zeros(3, dtype=xpnn.float64), xpnn.zeros(4, dtype=xpnn.float64))
    with pytest.raises(RuntimeError, match="tangent 0 .* dtype float32, but its primal .* "
                                           "dtype float64"):
        fn(xpnn.zeros(3), xpnn.zeros(5, dtype=xpnn.float64))
    with pytest.raises(RuntimeError, match="structure of the primals"):
        fn(xpnn.zeros(3, dtype=xpnn.float64))
    with pytest.raises(RuntimeError, match="linearize"):
        xpnn.func.linearize(_f(xpnn))


def test_replayed_float64_randn_keeps_its_precision():
    """The harness replays a recorded float64 normal draw into xpnn's float64 randn bit for
    bit (it was rounded through float32)."""
    from pytorch_programs import replay
    values = torch.randn(7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    recorded = types.SimpleNamespace(tape=[("normal", (7,), values.numpy().copy())],
                                     params={})
    run = types.SimpleNamespace(notes=[], items=[])
    hooks = replay.xpnn_hooks(run, recorded, (__file__,))
    for h in hooks:
        h.__enter__()
    try:
        got = xpnn.randn(7, dtype=xpnn.float64)
    finally:
        for h in reversed(hooks):
            h.__exit__(None, None, None)
    assert run.tape == []
    np.testing.assert_array_equal(to_np(got), values.numpy())
