"""xpnn.detect_anomaly(): the first op producing NaN, in forward or backward, is named;
infinities pass, as in PyTorch."""
import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from xpnn import autograd, nn
from xpnn.anomaly import AnomalyError

# NumPy warns on log(-1) and 1/0; these tests create such values on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_forward_nan_names_op_shapes_and_line(backend):
    x = xpnn.tensor([[1.0, -1.0, 2.0]], requires_grad=True)
    with xpnn.detect_anomaly():
        y = x * 2.0
        with pytest.raises(AnomalyError) as err:
            F.log(y - 1.0)
    msg = str(err.value)
    assert "Log forward produced NaN in output 0 (shape (1, 3))" in msg, msg
    assert "#0 (1, 3) float32" in msg and "test_anomaly.py" in msg
    assert "test_forward_nan_names_op_shapes_and_line" in msg


def test_backward_nan_names_op_and_where_it_was_called(backend):
    x = xpnn.tensor([0.0, 4.0], requires_grad=True)
    with xpnn.detect_anomaly():
        y = (F.sqrt(x) * 0.0).sum()  # finite forward; the gradient at 0 is 0 * inf
        with pytest.raises(AnomalyError) as err:
            y.backward()
    msg = str(err.value)
    assert "Sqrt backward produced NaN in the gradient for input 0 (shape (2,))" in msg, msg
    assert "test_anomaly.py" in msg and "called at" in msg


def test_infinities_pass_as_in_pytorch(backend):
    """A -inf attention mask and an infinite gradient are legitimate (PyTorch's anomaly
    mode raises for neither)."""
    scores = xpnn.tensor([[0.5, 1.0, 2.0]], requires_grad=True)
    mask = xpnn.tensor([[False, False, True]])
    x = xpnn.tensor([0.0, 4.0], requires_grad=True)
    with xpnn.detect_anomaly():
        F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)[0, 0].backward()
        F.sqrt(x).sum().backward()
    assert np.isinf(xpnn.to_numpy(x.grad)[0])


def test_non_finite_input_is_pointed_out(backend):
    x = xpnn.tensor([np.nan, 1.0])
    with xpnn.detect_anomaly(), pytest.raises(AnomalyError, match="already non-finite"):
        F.exp(x)


def test_inactive_costs_one_check_and_raises_nothing(backend):
    assert autograd._anomaly is None
    x = xpnn.tensor([0.0, 4.0], requires_grad=True)
    y = F.sqrt(x).sum()
    y.backward()  # inf gradient goes through silently without the context
    assert np.isinf(xpnn.to_numpy(x.grad)[0])


def test_context_restores_and_nests_and_decorates():
    with xpnn.detect_anomaly():
        outer = autograd._anomaly
        with xpnn.detect_anomaly():
            assert autograd._anomaly is not None
        assert autograd._anomaly is outer
    assert autograd._anomaly is None

    @xpnn.detect_anomaly()
    def bad():
        return F.log(xpnn.tensor([-1.0]))
    with pytest.raises(AnomalyError):
        bad()
    assert autograd._anomaly is None


def test_model_training_step_passes_when_finite(backend, rng):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = xpnn.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    y = xpnn.tensor(np.array([0, 1, 1, 0, 1]))
    with xpnn.detect_anomaly():
        F.cross_entropy(model(x), y).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_integer_outputs_are_not_checked(backend):
    x = xpnn.tensor([1.0, 2.0])
    with xpnn.detect_anomaly():
        assert to_bool(x > 1.5) == [False, True]


def to_bool(t):
    return xpnn.to_numpy(t.array).tolist()
