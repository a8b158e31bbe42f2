"""xpnn.utils.checkpoint (activation checkpointing) against torch.utils.checkpoint: the same
values and gradients (to the inputs, to the parameters the function reads, through
backward() and autograd.grad), the same warnings and refusals, dropout recomputed with the
same masks, and nothing of the function's graph kept."""
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")


def _model(m):
    """Two Linear layers with the same weights in both libraries."""
    m.manual_seed(0)
    lin1, lin2 = m.nn.Linear(4, 8), m.nn.Linear(8, 3)
    with m.no_grad():
        for i, p in enumerate(list(lin1.parameters()) + list(lin2.parameters())):
            p.copy_(m.tensor(np.cos(np.arange(p.numel()) + i).reshape(tuple(p.shape)),
                             dtype=m.float32))
    x = m.tensor(np.sin(np.arange(8.)).reshape(2, 4), dtype=m.float32, requires_grad=True)
    return lin1, lin2, x


def _run(m, reentrant, grad_api=False):
    lin1, lin2, x = _model(m)

    def block(h, scale=1.0):
        return m.tanh(lin1(h)) * scale

    kw = {} if reentrant else {"scale": 2.0}
    h = m.utils.checkpoint.checkpoint(block, x, use_reentrant=reentrant, **kw)
    loss = (lin2(h) ** 2).sum()
    if grad_api:
        return [loss] + list(m.autograd.grad(loss, [x, lin1.weight, lin2.bias]))
    loss.backward()
    return [loss, x.grad, lin1.weight.grad, lin1.bias.grad, lin2.weight.grad]


@pytest.mark.parametrize("reentrant, grad_api", [(True, False), (False, False), (False, True)])
def test_values_and_gradients_match_torch(backend, reentrant, grad_api):
    for a, b in zip(_run(xpnn, reentrant, grad_api), _run(torch, reentrant, grad_api)):
        np.testing.assert_allclose(to_np(a), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_parameters_get_gradients_without_input_grads_non_reentrant():
    for m in (torch, xpnn):
        lin = m.nn.Linear(3, 2)
        y = m.utils.checkpoint.checkpoint(lin, m.ones(1, 3), use_reentrant=False)
        y.sum().backward()
        assert lin.weight.grad is not None and y.requires_grad


def test_reentrant_warns_and_records_nothing_without_input_grads():
    for m in (torch, xpnn):
        lin = m.nn.Linear(3, 2)
        with pytest.warns(UserWarning, match="requires_grad"):
            y = m.utils.checkpoint.checkpoint(lin, m.ones(1, 3), use_reentrant=True)
        assert not y.requires_grad


def test_use_reentrant_left_out_warns_and_keywords_need_non_reentrant():
    for m in (torch, xpnn):
        x = m.ones(2, requires_grad=True)
        with pytest.warns(UserWarning, match="use_reentrant"):
            m.utils.checkpoint.checkpoint(lambda a: a * 2, x)
        with pytest.raises(ValueError):
            m.utils.checkpoint.checkpoint(lambda a, k=1: a * k, x, use_reentrant=True, k=2)


def test_dropout_is_recomputed_with_the_same_masks():
    drop, lin = xpnn.nn.Dropout(0.5), xpnn.nn.Linear(6, 6)
    x = xpnn.randn(4, 6, requires_grad=True)

    def f(t):
        return drop(lin(t))

    xpnn.manual_seed(3)
    y1 = xpnn.utils.checkpoint.checkpoint(f, x, use_reentrant=False)
    xpnn.randn(5)  # draws between the forward and the recomputation change nothing
    y1.sum().backward()
    g1, x.grad = x.grad, None
    xpnn.manual_seed(3)
    y2 = f(x)
    y2.sum().backward()
    np.testing.assert_array_equal(to_np(y1), to_np(y2))
    np.testing.assert_array_equal(to_np(g1), to_np(x.grad))


def test_one_node_stands_for_the_call():
    lin = xpnn.nn.Linear(3, 3)
    x = xpnn.randn(2, 3, requires_grad=True)
    y = xpnn.utils.checkpoint.checkpoint(lambda t: lin(lin(t)).relu(), x, use_reentrant=False)
    assert y.grad_fn.name() == "CheckpointFunctionBackward"
    nexts = [n for n, _ in y.grad_fn.next_functions]
    assert len(nexts) == 3  # x, then the weight and bias it read


def test_checkpoint_sequential_matches_torch():
    def run(m):
        m.manual_seed(0)
        layers = [m.nn.Linear(4, 4) for _ in range(4)]
        with m.no_grad():
            for i, layer in enumerate(layers):
                layer.weight.copy_(m.eye(4) * (0.5 + i / 10) + 0.1)
                layer.bias.fill_(0.1 * i)
        seq = m.nn.Sequential(*[mod for layer in layers for mod in (layer, m.nn.Tanh())])
        x = m.tensor(np.linspace(-1, 1, 8).reshape(2, 4), dtype=m.float32, requires_grad=True)
        y = m.utils.checkpoint.checkpoint_sequential(seq, 3, x, use_reentrant=False)
        y.sum().backward()
        return y, x.grad, layers[0].weight.grad
    for a, b in zip(run(xpnn), run(torch)):
        np.testing.assert_allclose(to_np(a), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_no_grad_and_export_run_the_function_plainly():
    lin = xpnn.nn.Linear(3, 2)
    with xpnn.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        y = xpnn.utils.checkpoint.checkpoint(lin, xpnn.ones(1, 3), use_reentrant=False)
    assert y.grad_fn is None
