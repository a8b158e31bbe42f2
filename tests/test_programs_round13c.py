"""Checks found while writing the round-13 (helper C) tutorial programs
(tests/pytorch_programs/tutorials/transformer_xl.py, efficientnet_se.py, cvae.py, gmm_em.py).

* ``torch.distributions.transform_to`` / ``biject_to`` (the constraint registry) were
  missing, so ``transform_to(constraints.lower_cholesky)(raw)``, the usual way to keep a
  MultivariateNormal's scale_tril valid while Adam moves an unconstrained parameter, raised
  ImportError. xpnn/distributions/constraint_registry.py now holds both registries, with
  PyTorch's table (the transform chosen per constraint class, the NotImplementedError for a
  class without one, ``register`` as a call and as a decorator).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402
from xpnn.distributions import constraints as xc  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402

RNG = np.random.default_rng(13)
EPS32 = float(np.finfo(np.float32).eps)


def _both(name, *args):
    """The constraint ``name`` (called with ``args`` when given) in xpnn and in torch."""
    tc = torch.distributions.constraints
    x, t = getattr(xc, name), getattr(tc, name)
    return (x(*args), t(*args)) if args else (x, t)


# (constraint name, its arguments, the unconstrained input's shape)
CASES = [
    ("real", (), (3, 2)),
    ("positive", (), (3, 2)),
    ("nonnegative", (), (4,)),
    ("greater_than", (2.0,), (3, 2)),
    ("greater_than_eq", (-1.0,), (5,)),
    ("less_than", (3.0,), (3, 2)),
    ("unit_interval", (), (4,)),
    ("interval", (-1.0, 2.0), (3, 2)),
    ("half_open_interval", (0.0, 1.0), (4,)),
    ("simplex", (), (3, 4)),
    ("lower_cholesky", (), (2, 3, 3)),
    ("positive_definite", (), (2, 3, 3)),
    ("corr_cholesky", (), (2, 3)),
]
IDS = [c[0] for c in CASES]


def _transforms(registry, name, args):
    xcon, tcon = _both(name, *args)
    xr = getattr(xpnn.distributions, registry)
    tr = getattr(torch.distributions, registry)
    try:
        want = tr(tcon)
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match="Cannot transform"):
            xr(xcon)
        return None, None
    return xr(xcon), want


@pytest.mark.parametrize("registry", ["transform_to", "biject_to"])
@pytest.mark.parametrize("name,args,shape", CASES, ids=IDS)
def test_registry_matches_torch(backend, registry, name, args, shape):
    """The same transform class as PyTorch's for each constraint, the same values, inside the
    constraint (float32: 64 eps; the Cholesky-type maps square exponentials)."""
    got_t, want_t = _transforms(registry, name, args)
    if got_t is None:
        return
    assert type(got_t).__name__ == type(want_t).__name__
    u = RNG.standard_normal(shape).astype(np.float32)
    got, want = got_t(xpnn.tensor(u)), want_t(torch.tensor(u))
    assert dtype_name(got.dtype) == "float32" and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=64 * EPS32, atol=64 * EPS32)
    xcon, _ = _both(name, *args)
    if name not in ("nonnegative", "positive_definite"):  # exp underflow / a sym check tol
        assert bool(xcon.check(got).all())


@pytest.mark.parametrize("name,args,shape", [c for c in CASES
                                             if c[0] not in ("lower_cholesky",
                                                             "positive_definite")],
                         ids=[i for i in IDS if i not in ("lower_cholesky",
                                                          "positive_definite")])
def test_biject_to_log_det_and_inverse(host_backend, name, args, shape):
    """biject_to's transforms: the log-determinant and the inverse agree with PyTorch's in
    float64 (1e-10)."""
    got_t, want_t = _transforms("biject_to", name, args)
    u = RNG.standard_normal(shape)
    xu = xpnn.tensor(u, dtype=xpnn.float64)
    y_x, y_t = got_t(xu), want_t(torch.tensor(u))
    np.testing.assert_allclose(to_np(got_t.log_abs_det_jacobian(xu, y_x)),
                               want_t.log_abs_det_jacobian(torch.tensor(u), y_t).numpy(),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(to_np(got_t.inv(y_x)), u, rtol=1e-8, atol=1e-8)


def test_independent_cat_stack_compose_like_torch(backend):
    """independent / cat / stack constraints map to IndependentTransform / CatTransform /
    StackTransform of their parts' transforms, with PyTorch's values."""
    u = RNG.standard_normal((3, 4)).astype(np.float32)
    tc = torch.distributions.constraints
    pairs = [(xc.independent(xc.positive, 1), tc.independent(tc.positive, 1)),
             (xc.real_vector, tc.real_vector),
             (xc.cat([xc.real, xc.positive], dim=1, lengths=[1, 3]),
              tc.cat([tc.real, tc.positive], dim=1, lengths=[1, 3])),
             (xc.stack([xc.real, xc.unit_interval, xc.positive, xc.greater_than(1.0)], dim=1),
              tc.stack([tc.real, tc.unit_interval, tc.positive, tc.greater_than(1.0)], dim=1))]
    for xcon, tcon in pairs:
        got_t = xpnn.distributions.transform_to(xcon)
        want_t = torch.distributions.transform_to(tcon)
        assert type(got_t).__name__ == type(want_t).__name__
        np.testing.assert_allclose(to_np(got_t(xpnn.tensor(u))), want_t(torch.tensor(u)),
                                   rtol=16 * EPS32, atol=16 * EPS32)


def test_lower_cholesky_gradient_matches_torch(backend):
    """The gmm_em program's path: MultivariateNormal(scale_tril=transform_to(lower_cholesky)
    (raw)).log_prob, gradient with respect to raw equal to PyTorch's (float32: 256 eps)."""
    raw = RNG.standard_normal((2, 3, 3)).astype(np.float32) * 0.5
    pts = RNG.standard_normal((5, 2, 3)).astype(np.float32)

    def run(lib, raw):
        d = lib.distributions
        tril = d.transform_to(d.constraints.lower_cholesky)(raw)
        return d.MultivariateNormal(lib.zeros(2, 3), scale_tril=tril).log_prob(
            lib.tensor(pts)).sum()

    xr = xpnn.tensor(raw, requires_grad=True)
    tr = torch.tensor(raw, requires_grad=True)
    got, want = run(xpnn, xr), run(torch, tr)
    got.backward()
    want.backward()
    assert got.item() == pytest.approx(want.item(), rel=256 * EPS32)
    assert dtype_name(xr.grad.dtype) == "float32"
    np.testing.assert_allclose(to_np(xr.grad), tr.grad.numpy(), rtol=256 * EPS32,
                               atol=256 * EPS32)


def test_lower_cholesky_gradcheck(host_backend):
    """transform_to(lower_cholesky) in float64: finite differences agree (xpnn.gradcheck)."""
    t = xpnn.distributions.transform_to(xc.lower_cholesky)
    raw = xpnn.tensor(RNG.standard_normal((2, 3, 3)), dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(lambda r: t(r), (raw,))


def test_register_like_torch():
    """register as a call and as a decorator, by class or instance; a class with no factory
    raises NotImplementedError naming it; a non-constraint is refused."""
    from xpnn.distributions.constraint_registry import ConstraintRegistry
    reg = ConstraintRegistry()
    with pytest.raises(NotImplementedError, match="Cannot transform _Real constraints"):
        reg(xc.real)

    @reg.register(xc.real)
    def _identity(constraint):
        return xpnn.distributions.identity_transform

    reg.register(xc.greater_than, lambda c: xpnn.distributions.ExpTransform())
    assert reg(xc.real) is xpnn.distributions.identity_transform
    assert type(reg(xc.positive)).__name__ == "ExpTransform"
    with pytest.raises(TypeError, match="ConstraintRegistry.register: expected constraint"):
        reg.register(3, _identity)
