"""Regressions found by the sixth round of PyTorch programs (tests/pytorch_programs/
tutorials/: keyword_spotting, pointnet, neural_ode, bayes_by_backprop, pruning_finetune),
each against torch.

The five programs ran as on PyTorch at once; probing the calls they make for PyTorch's
behaviour on bad input found errors raised as a plain ValueError where PyTorch raises
RuntimeError, so that a user's ``except RuntimeError`` missed them (Tensor.unfold, eye,
bincount, the pooling modules' rank check): xpnn's errors there are now both
(xpnn/_errors.py), with their messages unchanged. And nn.Dropout1d / nn.Dropout3d refused
the unbatched inputs PyTorch's take.
"""
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return e
    raise AssertionError("no error raised")


@pytest.mark.parametrize("size, step", [(3, 0), (3, -2), (-1, 1)])
def test_tensor_unfold_bad_size_or_step_is_a_runtime_error(size, step):
    """Tensor.unfold (the keyword-spotting framing) with a step < 1 or a size < 0: PyTorch
    raises RuntimeError; xpnn's error is one too (and still the ValueError it was)."""
    for lib in (torch, xpnn):
        with pytest.raises(RuntimeError):
            lib.ones(3, 8).unfold(1, size, step)
    err = _raised(lambda: xpnn.ones(3, 8).unfold(1, size, step))
    assert isinstance(err, ValueError)
    assert str(err).startswith(f"unfold: {'step' if size >= 0 else 'size'} must be an int >= ")


def test_tensor_unfold_non_int_size_is_a_type_error():
    for lib in (torch, xpnn):
        with pytest.raises(TypeError):
            lib.ones(3, 8).unfold(1, 1.5, 1)
    with pytest.raises(TypeError, match="unfold: size must be an int, got float 1.5"):
        xpnn.ones(3, 8).unfold(1, 1.5, 1)


def test_tensor_unfold_windows_match_pytorch():
    """The framing itself (overlapping windows, their gradient) as PyTorch's."""
    x = torch.randn(2, 20, dtype=torch.float64, requires_grad=True)
    xx = xpnn.tensor(x.detach().numpy(), dtype=xpnn.float64, requires_grad=True)
    w = torch.hann_window(6, dtype=torch.float64)
    y = x.unfold(-1, 6, 4) * w
    yy = xx.unfold(-1, 6, 4) * xpnn.hann_window(6, dtype=xpnn.float64)
    assert tuple(yy.shape) == tuple(y.shape) == (2, 4, 6)
    (y ** 2).sum().backward()
    (yy ** 2).sum().backward()
    assert abs(yy.detach().numpy() - y.detach().numpy()).max() < 1e-14
    assert abs(xx.grad.numpy() - x.grad.numpy()).max() < 1e-14


@pytest.mark.parametrize("args", [(-1,), (2, -1)])
def test_eye_negative_size_is_a_runtime_error(args):
    for lib in (torch, xpnn):
        with pytest.raises(RuntimeError):
            lib.eye(*args)
    name = "n" if args[0] < 0 else "m"
    with pytest.raises(ValueError, match=f"eye: {name} must be greater or equal to 0, got -1"):
        xpnn.eye(*args)


@pytest.mark.parametrize("case", ["2-d", "float", "bool", "minlength"])
def test_bincount_bad_input_is_a_runtime_error(case):
    """bincount (the keyword-spotting confusion matrix, the pointnet per-class counts):
    PyTorch raises RuntimeError (NotImplementedError, one of them, for a float or bool
    input); xpnn's error is a RuntimeError too, and still the ValueError it was."""
    def call(lib):
        if case == "2-d":
            return lib.bincount(lib.ones(2, 2, dtype=lib.int64))
        if case == "float":
            return lib.bincount(lib.tensor([1.0, 2.0]))
        if case == "bool":
            return lib.bincount(lib.tensor([True, False]))
        return lib.bincount(lib.tensor([1, 2]), minlength=-1)
    for lib in (torch, xpnn):
        with pytest.raises(RuntimeError):
            call(lib)
    assert isinstance(_raised(lambda: call(xpnn)), ValueError)


def test_bincount_confusion_matrix_matches_pytorch():
    target, pred = [0, 1, 2, 1, 0, 3, 3], [0, 2, 2, 1, 1, 3, 0]
    got = []
    for lib in (torch, xpnn):
        t, p = lib.tensor(target), lib.tensor(pred)
        got.append(lib.bincount(t * 4 + p, minlength=16).view(4, 4).tolist())
    assert got[0] == got[1]


@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.nn.AdaptiveAvgPool1d(2), (2, 3, 4, 5)),
    (lambda lib: lib.nn.AdaptiveMaxPool1d(2), (2, 3, 4, 5)),
    (lambda lib: lib.nn.AvgPool1d(2), (2, 3, 4, 5)),
    (lambda lib: lib.nn.MaxPool2d(2), (1, 2, 3, 4, 5)),
])
def test_pooling_layer_wrong_rank_is_a_runtime_error(make, shape):
    for lib in (torch, xpnn):
        with pytest.raises(RuntimeError):
            make(lib)(lib.ones(*shape))
    err = _raised(lambda: make(xpnn)(xpnn.ones(*shape)))
    assert isinstance(err, ValueError) and "-D input (N, C, " in str(err)


@pytest.mark.parametrize("cls, shape", [("Dropout1d", (16, 5)), ("Dropout3d", (16, 2, 3, 4))])
def test_channel_dropout_modules_take_unbatched_input(cls, shape):
    """nn.Dropout1d on (C, L) and nn.Dropout3d on (C, D, H, W), unbatched inputs PyTorch's
    modules take (and xpnn's functional forms took), drop whole channels; they were refused."""
    for lib in (torch, xpnn):
        lib.manual_seed(0)
        layer = getattr(lib.nn, cls)(p=0.5)
        y = layer(lib.ones(*shape)).reshape(shape[0], -1).numpy()
        assert y.shape[0] == shape[0]
        for row in y:  # a channel is dropped whole or kept whole, scaled by 1 / (1 - p)
            assert (row == 0).all() or (row == 2).all(), (lib.__name__, row)
        assert 0 < (y[:, 0] == 0).sum() < shape[0]
        layer.eval()
        assert (layer(lib.ones(*shape)).numpy() == 1).all()


@pytest.mark.parametrize("cls, shape", [("Dropout1d", (2, 3, 4, 5)), ("Dropout1d", (4,))])
def test_channel_dropout_modules_wrong_rank_is_a_runtime_error(cls, shape):
    """(PyTorch's Dropout2d/3d take any rank with a deprecation warning; xpnn refuses.)"""
    for lib in (torch, xpnn):
        with pytest.raises(RuntimeError):
            getattr(lib.nn, cls)()(lib.ones(*shape))
    with pytest.raises(ValueError, match=f"{cls}\\(p=0.5, inplace=False\\): expected a "):
        getattr(xpnn.nn, cls)()(xpnn.ones(*shape))
