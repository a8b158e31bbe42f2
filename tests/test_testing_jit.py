"""xpnn.testing (assert_close, assert_allclose, make_tensor) and xpnn.jit against torch 2.13:
the same pass/fail decisions, exception classes and reports; scripting and tracing leave
models as they are."""
import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")

CASES = {
    "close": lambda m: m.testing.assert_close(m.tensor([1., 2, 3]), m.tensor([1., 2.1, 3])),
    "within": lambda m: m.testing.assert_close(m.tensor([1., 2.]), m.tensor([1., 2.000001])),
    "dtype": lambda m: m.testing.assert_close(m.ones(3), m.ones(3, dtype=m.float64)),
    "dtype_unchecked": lambda m: m.testing.assert_close(m.ones(3), m.ones(3, dtype=m.float64),
                                                        check_dtype=False),
    "shape": lambda m: m.testing.assert_close(m.ones(3), m.ones(2)),
    "scalars": lambda m: m.testing.assert_close(1.0, 1.1),
    "int_float": lambda m: m.testing.assert_close(1, 1.0),
    "sequence": lambda m: m.testing.assert_close([m.ones(2), 1], [m.ones(2), 2]),
    "mapping": lambda m: m.testing.assert_close({"a": m.ones(2)}, {"a": m.zeros(2)}),
    "keys": lambda m: m.testing.assert_close({"a": 1}, {"b": 1}),
    "ints": lambda m: m.testing.assert_close(m.tensor([1, 2]), m.tensor([1, 3])),
    "bools": lambda m: m.testing.assert_close(m.tensor([True]), m.tensor([False])),
    "nan": lambda m: m.testing.assert_close(m.tensor([float("nan")]), m.tensor([float("nan")])),
    "nan_equal": lambda m: m.testing.assert_close(m.tensor([float("nan")]),
                                                  m.tensor([float("nan")]), equal_nan=True),
    "inf": lambda m: m.testing.assert_close(m.tensor([float("inf")]), m.tensor([float("inf")])),
    "tolerances": lambda m: m.testing.assert_close(m.tensor([1., 2.]), m.tensor([1., 2.001]),
                                                   rtol=1e-3, atol=0),
    "one_tolerance": lambda m: m.testing.assert_close(m.ones(1), m.ones(1), rtol=1e-3),
    "msg": lambda m: m.testing.assert_close(m.ones(2), m.zeros(2), msg="custom"),
    "msg_callable": lambda m: m.testing.assert_close(m.ones(2), m.zeros(2),
                                                     msg=lambda s: s.split("\n")[0] + "!"),
    "tensor_vs_list": lambda m: m.testing.assert_close(m.ones(2), [1., 1.]),
    "numpy": lambda m: m.testing.assert_close(np.ones(2), np.zeros(2)),
    "float64": lambda m: m.testing.assert_close(m.tensor([1., 2], dtype=m.float64),
                                                m.tensor([1., 2.1], dtype=m.float64)),
}


def _outcome(case, m):
    try:
        case(m)
        return "passed"
    except Exception as exc:  # noqa: BLE001 - the class and report are what is compared
        return type(exc).__name__, str(exc).replace("torch.", "xpnn.")


@pytest.mark.parametrize("name", sorted(CASES))
def test_assert_close_decides_and_reports_as_torch(name):
    got, want = _outcome(CASES[name], xpnn), _outcome(CASES[name], torch)
    if name == "tensor_vs_list":  # the message names each library's Tensor class
        assert got[0] == want[0] == "TypeError"
        return
    assert got == want


def test_assert_close_on_every_backend(backend):
    x = xpnn.tensor([1., 2.])
    xpnn.testing.assert_close(x, x * 1)
    with pytest.raises(AssertionError, match="not close"):
        xpnn.testing.assert_close(x, x + 1)


def test_assert_allclose_and_make_tensor():
    xpnn.testing.assert_allclose(xpnn.tensor([1., 2.]), [1., 2.])
    with pytest.raises(AssertionError):
        xpnn.testing.assert_allclose(xpnn.tensor([1., 2.]), [1., 3.])
    t = xpnn.testing.make_tensor(50, 4, dtype=xpnn.float32, low=-2, high=3, exclude_zero=True)
    a = t.numpy()
    assert t.shape == (50, 4) and a.min() >= -2 and a.max() < 3 and (a != 0).all()
    i = xpnn.testing.make_tensor((100,), dtype=xpnn.uint8)
    assert str(i.dtype).endswith("uint8") and i.numpy().min() >= 0 and i.numpy().max() < 10
    g = xpnn.testing.make_tensor(3, dtype=xpnn.float64, requires_grad=True)
    assert g.requires_grad and g.is_leaf
    with pytest.raises(ValueError):
        xpnn.testing.make_tensor(3, dtype=xpnn.int64, requires_grad=True)


class _Net(xpnn.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = xpnn.nn.Linear(3, 2)

    @xpnn.jit.ignore
    def helper(self, x):
        return x * 2

    @xpnn.jit.unused
    def unused(self, x):
        return x

    def forward(self, x):
        if not xpnn.jit.is_scripting() and not xpnn.jit.is_tracing():
            x = self.helper(x)
        return self.lin(x)


def test_jit_leaves_models_as_they_are():
    net = _Net()
    x = xpnn.randn(4, 3)
    assert xpnn.jit.script(net) is net
    assert xpnn.jit.trace(net, (x,)) is net
    assert xpnn.jit.freeze(net) is net and xpnn.jit.optimize_for_inference(net) is net
    assert not isinstance(net, xpnn.jit.ScriptModule)
    fut = xpnn.jit.fork(net, x)
    np.testing.assert_array_equal(xpnn.jit.wait(fut).detach().numpy(),
                                  net(x).detach().numpy())
    assert xpnn.jit.annotate(list, []) == []

    @xpnn.jit.ignore(drop=True)
    def dropped(v):
        return v + 1
    assert dropped(1) == 2
    with pytest.raises(NotImplementedError, match="xpnn.save"):
        xpnn.jit.save(net, "net.pt")
    with pytest.raises(TypeError):
        xpnn.jit.script(3)
