"""Regressions found by the round-4 tutorial programs (tests/pytorch_programs/tutorials/:
vit, pinn, siamese, mixture_of_experts, tabular), each checked against PyTorch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402
from pytorch_programs import harness  # noqa: E402

RTOL = 1e-5  # float32 values a few ops deep: a few dozen eps


def _both(lib, arrays):
    return [lib.tensor(a, requires_grad=True) for a in arrays]


def _cosine_distance(lib):
    return lambda a, b: 1.0 - lib.nn.functional.cosine_similarity(a, b)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("distance", ["default", "cosine"])
def test_triplet_margin_with_distance_loss(swap, reduction, distance):
    """nn.TripletMarginWithDistanceLoss (the siamese program's cosine triplet loss) and its
    functional form: value and gradients as PyTorch's, default and custom distances."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((6, 5)).astype(np.float32) for _ in range(3)]
    out = {}
    for lib in (torch, xpnn):
        a, p, n = _both(lib, arrays)
        fn = None if distance == "default" else _cosine_distance(lib)
        loss_fn = lib.nn.TripletMarginWithDistanceLoss(distance_function=fn, margin=0.5,
                                                       swap=swap, reduction=reduction)
        loss = loss_fn(a, p, n)
        loss.sum().backward()
        functional = lib.nn.functional.triplet_margin_with_distance_loss(
            a, p, n, distance_function=fn, margin=0.5, swap=swap, reduction=reduction)
        out[lib.__name__] = [loss.detach().numpy(), functional.detach().numpy(),
                             a.grad.numpy(), p.grad.numpy(), n.grad.numpy()]
    for got, want in zip(out["xpnn"], out["torch"]):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)


def test_triplet_margin_with_distance_loss_repr_and_errors():
    """The default distance is a PairwiseDistance child (it shows in the repr, as in
    PyTorch's); a margin <= 0, an uncallable distance or mismatched dims are refused."""
    for lib in (torch, xpnn):
        assert repr(lib.nn.TripletMarginWithDistanceLoss()).replace("xpnn", "torch") == \
            repr(torch.nn.TripletMarginWithDistanceLoss())
    with pytest.raises(ValueError, match="TripletMarginWithDistanceLoss: margin must be a "
                                         "number > 0, got 0"):
        xpnn.nn.TripletMarginWithDistanceLoss(margin=0)
    with pytest.raises(TypeError, match="distance_function must be callable"):
        xpnn.nn.TripletMarginWithDistanceLoss(distance_function=3)
    x = xpnn.zeros(4, 3)
    with pytest.raises(ValueError, match=r"triplet_margin_with_distance_loss: anchor, "
                                         r"positive and negative need the same number of dims"):
        xpnn.nn.functional.triplet_margin_with_distance_loss(x, x, xpnn.zeros(3))


@pytest.mark.parametrize("lib", [torch, xpnn], ids=["torch", "xpnn"])
def test_harness_puts_back_global_settings(lib):
    """A program that sets the default dtype (pinn.py: float64 for LBFGS) or the print
    options (vit.py) leaves the next program in the same process the defaults."""
    with harness._global_settings(lib):
        lib.set_default_dtype(lib.float64)
        lib.set_printoptions(precision=2)
    assert lib.get_default_dtype() == lib.float32
    assert str(lib.tensor([1.23456])).replace("xpnn", "torch") == "tensor([1.2346])"


def test_optimizer_state_dict_slots_are_tensors():
    """PyTorch's Adam.state_dict()['state'][i]['step'] is a float32 scalar Tensor (user code
    calls .item() on it), and the moments are Tensors."""
    p = xpnn.nn.Parameter(xpnn.ones(2))
    opt = xpnn.optim.Adam([p])
    p.sum().backward()
    opt.step()
    slots = opt.state_dict()["state"][0]
    assert isinstance(slots["step"], xpnn.Tensor) and slots["step"].item() == 1.0
    assert isinstance(slots["exp_avg"], xpnn.Tensor)
