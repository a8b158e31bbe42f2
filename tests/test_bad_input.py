"""Bad input fails early with an error that names the layer/argument and quotes what it got."""
import re

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn import nn


def _other_backend(backend):
    return "numpy" if backend != "numpy" else "array_api_strict"


@pytest.mark.parametrize("args, quoted", [((0, 3), "in_features must be an int >= 1, got 0"),
                                          ((3, 0), "out_features must be an int >= 1, got 0"),
                                          ((-2, 3), "in_features must be an int >= 1, got -2"),
                                          ((2.5, 3), "got 2.5"), ((True, 3), "got True")])
def test_linear_sizes_are_checked_at_construction(args, quoted):
    with pytest.raises(ValueError, match=re.escape(f"Linear: {quoted}") if "must" in quoted
                       else re.escape(quoted)):
        nn.Linear(*args)


def test_shape_mismatch_names_layer_and_both_shapes(backend):
    lin = nn.Linear(4, 3)
    with pytest.raises(ValueError) as info:
        lin(xpnn.tensor(np.ones((2, 5))))
    msg = str(info.value)
    assert "Linear(in_features=4, out_features=3" in msg
    assert "xpnn.Size([2, 5])" in msg and "xpnn.Size([3, 4])" in msg  # as torch's messages
    x = xpnn.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=re.escape("matmul: shapes xpnn.Size([2, 3]) and "
                                                   "xpnn.Size([2, 3]) do not align")):
        x @ x
    with pytest.raises(ValueError, match=re.escape("mse_loss: input of shape xpnn.Size([2, 3]) "
                                                   "and target of shape xpnn.Size([3, 2]) "
                                                   "differ")):
        F.mse_loss(x, xpnn.tensor(np.ones((3, 2))))
    y = xpnn.tensor(np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=re.escape("cross_entropy: input of shape xpnn.Size([2, 3]) "
                                                   "needs target (class indices) of shape "
                                                   "xpnn.Size([2]), got (3,)")):
        F.cross_entropy(x, y)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), got \(2,\)"):
        F.cross_entropy(x, y[:2], weight=xpnn.tensor(np.ones(2)))


def test_dtype_mismatch_names_both_dtypes(backend):
    lin = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="linear: input dtype .*float64 differs from weight "
                                        "dtype .*float32"):
        lin(xpnn.tensor(np.ones((2, 3)), dtype="float64"))


def test_mixing_backends_raises_type_error_naming_both(backend):
    pytest.importorskip("torch")
    other = "torch" if backend != "torch" else "numpy"
    a = xpnn.tensor(np.ones((2, 3)), backend=backend, requires_grad=True)
    b = xpnn.tensor(np.ones((2, 3)), backend=other)
    calls = {"add": lambda: a + b, "mul": lambda: b * a, "matmul": lambda: a @ b.T,
             "concat": lambda: F.concat([a, b]), "mse_loss": lambda: F.mse_loss(a, b),
             "where": lambda: F.where(a > 0, a, b), "compare": lambda: a < b,
             "linear": lambda: nn.Linear(3, 2, backend=other)(a),
             "cross_entropy": lambda: F.cross_entropy(
                 a, xpnn.tensor(np.array([0, 1]), backend=other))}
    for name, call in calls.items():
        with pytest.raises(TypeError) as info:
            call()
        msg = str(info.value)
        assert backend in msg and other in msg, f"{name}: {msg}"


@pytest.mark.parametrize("labels", [[0, 3], [-1, 1], [5, -7]])
def test_labels_outside_range_raise(labels, backend):
    x = xpnn.tensor(np.zeros((2, 3)), requires_grad=True)
    y = xpnn.tensor(np.array(labels))
    if not x._be.on_host:  # no host read per call on a device: the loss is NaN instead
        assert np.isnan(F.cross_entropy(x, y).item()) and np.isnan(F.nll_loss(x, y).item())
        return
    with pytest.raises(IndexError, match=r"cross_entropy: target labels must be in \[0, 3\)"):
        F.cross_entropy(x, y)
    with pytest.raises(IndexError, match=r"nll_loss: target labels must be in \[0, 3\)"):
        F.nll_loss(x, y)
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        nn.CrossEntropyLoss()(x, y)


def test_ignore_index_is_not_out_of_range(backend):
    x = xpnn.tensor(np.zeros((2, 3)))
    loss = F.cross_entropy(x, xpnn.tensor(np.array([-100, 2])))
    np.testing.assert_allclose(loss.numpy(), np.log(3), rtol=1e-6)


def _snapshot(model):
    return {k: to_np(v).copy() for k, v in model.state_dict().items()}


def _assert_unchanged(model, before):
    after = _snapshot(model)
    assert list(after) == list(before)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)


def test_load_state_dict_errors_name_the_key_and_change_nothing(backend):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = _snapshot(model)
    good = {k: v + 1.0 for k, v in before.items()}  # differs from the model everywhere

    missing = dict(good)
    del missing["2.bias"]
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\]"):
        model.load_state_dict(missing)
    _assert_unchanged(model, before)

    unexpected = dict(good, **{"3.weight": np.ones((2, 2))})
    with pytest.raises(KeyError, match=r"unexpected keys \['3.weight'\]"):
        model.load_state_dict(unexpected)
    _assert_unchanged(model, before)

    misshaped = dict(good)
    misshaped["2.bias"] = np.ones(3)  # the last key: every earlier key was already staged
    with pytest.raises(ValueError, match=r"key '2.bias' has shape \(3,\) in the state dict "
                                         r"but \(2,\) in the model"):
        model.load_state_dict(misshaped)
    _assert_unchanged(model, before)

    result = model.load_state_dict(missing, strict=False)  # non-strict loads the rest
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == []
    np.testing.assert_array_equal(to_np(model[0].weight), good["0.weight"].astype(np.float32))
    np.testing.assert_array_equal(to_np(model[2].bias), before["2.bias"])


@pytest.mark.parametrize("p", [1.5, -0.1, "0.5", None])
def test_dropout_probability_is_checked(p):
    with pytest.raises(ValueError, match=re.escape(f"Dropout: p must be a probability in "
                                                   f"[0, 1], got {p!r}")):
        nn.Dropout(p)
    if isinstance(p, float):
        with pytest.raises(ValueError, match=re.escape(f"dropout: p must be in [0, 1], got "
                                                       f"{p!r}")):
            F.dropout(xpnn.tensor(np.ones(3)), p)


@pytest.mark.parametrize("make", [
    lambda r: F.mse_loss(xpnn.tensor([1.0]), xpnn.tensor([2.0]), reduction=r),
    lambda r: F.l1_loss(xpnn.tensor([1.0]), xpnn.tensor([2.0]), reduction=r),
    lambda r: F.huber_loss(xpnn.tensor([1.0]), xpnn.tensor([2.0]), reduction=r),
    lambda r: F.binary_cross_entropy(xpnn.tensor([0.5]), xpnn.tensor([1.0]), reduction=r),
    lambda r: F.binary_cross_entropy_with_logits(xpnn.tensor([0.5]), xpnn.tensor([1.0]),
                                                 reduction=r),
    lambda r: F.cross_entropy(xpnn.tensor([[0.5, 1.0]]), xpnn.tensor([1]), reduction=r),
    lambda r: F.nll_loss(xpnn.tensor([[0.5, 1.0]]), xpnn.tensor([1]), reduction=r),
    lambda r: nn.MSELoss(reduction=r), lambda r: nn.CrossEntropyLoss(reduction=r),
    lambda r: nn.BCEWithLogitsLoss(reduction=r), lambda r: nn.HuberLoss(reduction=r)])
def test_bad_reduction_raises(make):
    with pytest.raises(ValueError, match=r"reduction must be .*'mean'.*got 'avg'"):
        make("avg")


@pytest.mark.parametrize("call, err, pattern", [
    (lambda: nn.GELU("fast"), ValueError,
     "GELU: approximate must be 'none' or 'tanh', got 'fast'"),
    (lambda: F.gelu(xpnn.tensor([1.0]), "fast"), ValueError, "gelu: approximate"),
    (lambda: nn.Softplus(beta=0), ValueError, "Softplus: beta must be > 0, got 0"),
    (lambda: nn.HuberLoss(delta=-1.0), ValueError, "HuberLoss: delta must be > 0, got -1.0"),
    (lambda: F.huber_loss(xpnn.tensor([1.0]), xpnn.tensor([1.0]), delta=0), ValueError,
     "huber_loss: delta must be > 0, got 0"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), ValueError,
     r"label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda: F.cross_entropy(xpnn.tensor([[1.0, 2.0]]), xpnn.tensor([0]),
                             label_smoothing=-0.1), ValueError, r"got -0.1"),
    # squeezing a dim that is not 1 leaves it, as in PyTorch; a dim out of range raises
    (lambda: F.squeeze(xpnn.tensor(np.ones((2, 3))), 2), IndexError,
     r"squeeze: dim 2 is out of range for a tensor with 2 dims"),
    (lambda: xpnn.tensor([1.0], backend="jax"), xpnn.BackendError, "unknown backend 'jax'"),
    (lambda: xpnn.manual_seed(-1), ValueError, "seed must be a non-negative int, got -1"),
    (lambda: nn.Sequential(nn.ReLU(), "relu"), TypeError, "Sequential: item 1 is a str"),
    (lambda: xpnn.tensor([1.0], dtype="complex32"), TypeError,
     "dtype 'complex32' is not supported"),
])
def test_argument_errors_quote_the_value(call, err, pattern):
    with pytest.raises(err, match=pattern):
        call()


def test_assigning_a_non_parameter_over_a_parameter_raises():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Linear.weight is a Parameter; cannot assign a "
                                        "ndarray"):
        lin.weight = np.ones((2, 2))


@pytest.mark.parametrize("data, kind, message", [
    ([[1, 2], [3, 4, 5]], ValueError, "expected sequence of length 2 at dim 1 (got 3)"),
    ([[[1], [2]], [[3]]], ValueError, "expected sequence of length 2 at dim 1 (got 1)"),
    ([[1, 2], 3], TypeError, "not a sequence"),
    ([[1.0, [2.0]], [3.0, 4.0]], TypeError, "must be real number, not list"),
])
def test_ragged_lists_raise_torchs_error(data, kind, message, backend):
    # torch.tensor names the first level whose length differs from the first entry's
    torch = pytest.importorskip("torch")
    with pytest.raises(kind, match=re.escape(message)):
        xpnn.tensor(data, backend=backend)
    with pytest.raises(kind, match=re.escape(message)):  # torch's own words
        torch.tensor(data)
