"""Adversarial inputs to xpnn.distributions held to torch 2.13: the same call returns the same
value (shape, dtype, values, gradients) or raises torch's exception class. Each case runs on
every backend of the ``backend`` fixture; range checks that read values on the host are
skipped on a device (see ``raises_like(host_only=True)``).

Known, deliberate differences (asserted here as xpnn's behaviour):
- Kumaraswamy.mode: torch's formula takes log1p(-concentration0) and returns NaN wherever
  concentration0 > 1; xpnn returns the closed form ((a - 1) / (a b - 1))^(1 / a).
- VonMises.log_prob and Multinomial.entropy agree with torch to ~3e-8 relative in float64
  (torch's Bessel polynomial / lgamma sums are the less accurate side).
- constraints.positive_semidefinite on a batch holding a non-symmetric matrix: torch returns
  the symmetry check for every matrix; xpnn checks the eigenvalues of each symmetric one.
- LowRankMultivariateNormal with a NaN cov_factor: torch raises its LinAlgError from the
  Cholesky factorization, xpnn the ValueError of the parameter check (torch's class cannot be
  raised without importing torch).
- StudentT, FisherSnedecor, RelaxedBernoulli and LKJCholesky with validate_args=False: torch
  still validates an inner distribution built with the default; xpnn honours the flag.
"""
import math

import numpy as np
import pytest
from torch_same import TOL32, TOL64, _t, raises_like, same

import xpnn
import xpnn.distributions as XD

torch = pytest.importorskip("torch")
TD = torch.distributions


def D(lib):
    return TD if lib is torch else XD


def C(lib):
    return D(lib).constraints


def _r(x):
    """A repr without the library's prefix."""
    return repr(x).replace("torch.", "").replace("xpnn.", "")


# -- constraints: torch's names, reprs, attributes and check() ---------------------------
NAMES = ["Constraint", "MixtureSameFamilyConstraint", "boolean", "cat", "corr_cholesky",
         "dependent", "dependent_property", "greater_than", "greater_than_eq",
         "half_open_interval", "independent", "integer_interval", "interval", "is_dependent",
         "less_than", "lower_cholesky", "lower_triangular", "multinomial", "nonnegative",
         "nonnegative_integer", "one_hot", "positive", "positive_definite", "positive_integer",
         "positive_semidefinite", "real", "real_vector", "simplex", "square", "stack",
         "symmetric", "unit_interval"]


def test_constraint_names_match_torch():
    assert sorted(TD.constraints.__all__) == sorted(NAMES)
    assert all(n in XD.constraints.__all__ and hasattr(XD.constraints, n) for n in NAMES)


SINGLETONS = ["real", "real_vector", "positive", "nonnegative", "unit_interval", "simplex",
              "boolean", "nonnegative_integer", "positive_integer", "one_hot",
              "lower_cholesky", "lower_triangular", "positive_definite",
              "positive_semidefinite", "square", "symmetric", "corr_cholesky"]


@pytest.mark.parametrize("name", SINGLETONS)
def test_constraint_repr_and_attributes(name):
    t, x = getattr(TD.constraints, name), getattr(XD.constraints, name)
    assert repr(x) == repr(t)
    assert (x.event_dim, x.is_discrete) == (t.event_dim, t.is_discrete)


def test_parametrized_constraint_reprs():
    for make in [lambda c: c.less_than(2.0), lambda c: c.greater_than(2), lambda c: c.interval(0.5, 3),
                 lambda c: c.integer_interval(0, 3), lambda c: c.multinomial(4),
                 lambda c: c.independent(c.positive, 2),
                 lambda c: c.MixtureSameFamilyConstraint(c.real_vector)]:
        t, x = make(TD.constraints), make(XD.constraints)
        assert repr(x) == repr(t)
        assert (x.event_dim, x.is_discrete) == (t.event_dim, t.is_discrete)


CHECKS = [
    ("real", lambda c: c.real, [1.0, np.nan, np.inf]),
    ("positive", lambda c: c.positive, [1.0, 0.0, -1.0, np.nan]),
    ("less_than", lambda c: c.less_than(2.0), [1.0, 2.0, 3.0]),
    ("positive_integer", lambda c: c.positive_integer, [0.0, 1.0, 1.5, 3.0]),
    ("independent", lambda c: c.independent(c.positive, 1), [[1.0, 2.0], [0.0, 1.0]]),
    ("independent2", lambda c: c.independent(c.real, 2), [[[1.0, np.nan]], [[0.0, 1.0]]]),
    ("simplex", lambda c: c.simplex, [[0.5, 0.5], [0.2, 0.9], [-0.5, 1.5]]),
    ("one_hot", lambda c: c.one_hot, [[0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]),
    ("multinomial", lambda c: c.multinomial(3), [[1.0, 2.0], [2.0, 2.0], [-1.0, 1.0]]),
    ("square", lambda c: c.square, np.zeros((3, 2, 2))),
    ("square_not", lambda c: c.square, np.zeros((3, 2, 3))),
    ("symmetric", lambda c: c.symmetric, [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [0.0, 1.0]]]),
    ("symmetric_not_square", lambda c: c.symmetric, np.zeros((2, 3))),
    ("positive_semidefinite", lambda c: c.positive_semidefinite,
     [[[1.0, 0.0], [0.0, 0.0]], [[1.0, 2.0], [2.0, 1.0]], [[2.0, 1.0], [1.0, 2.0]]]),
    ("lower_triangular", lambda c: c.lower_triangular, [[[1.0, 0.0], [2.0, -1.0]],
                                                        [[1.0, 1.0], [0.0, 1.0]]]),
    ("lower_cholesky", lambda c: c.lower_cholesky, [[[1.0, 0.0], [1.0, 1.0]],
                                                    [[-1.0, 0.0], [0.0, 1.0]]]),
    ("cat", lambda c: c.cat([c.positive, c.real], 0, [1, 2]), [-1.0, -1.0, 2.0]),
    ("cat_default", lambda c: c.cat([c.positive, c.real]), [-1.0, -1.0]),
    ("stack", lambda c: c.stack([c.positive, c.real], 0), [[-1.0, 1.0], [-1.0, 1.0]]),
    ("mixture", lambda c: c.MixtureSameFamilyConstraint(c.positive), [1.0, -1.0, 0.5]),
]


@pytest.mark.parametrize("name,make,value", CHECKS, ids=[c[0] for c in CHECKS])
def test_constraint_check(backend, name, make, value):
    same(make(XD.constraints).check(_t(xpnn, value)), make(TD.constraints).check(_t(torch, value)))


def test_dependent_constraints():
    assert repr(XD.constraints.dependent) == repr(TD.constraints.dependent)
    for lib in (torch, xpnn):
        c = C(lib)
        assert c.is_dependent(c.dependent) and not c.is_dependent(c.real)
        d = c.dependent(is_discrete=True, event_dim=1)
        assert c.is_dependent(d) and (d.is_discrete, d.event_dim) == (True, 1)

        class Thing:
            @c.dependent_property(is_discrete=False, event_dim=1)
            def support(self):
                return c.real_vector

        assert Thing().support is c.real_vector
        assert c.is_dependent(Thing.__dict__["support"])
        assert Thing.__dict__["support"].event_dim == 1
    raises_like(lambda lib: C(lib).dependent.check(_t(lib, [0.0])))
    raises_like(lambda lib: C(lib).independent(C(lib).real, 1).check(_t(lib, 1.0)))


# -- distributions: parameters, validation, shapes ---------------------------------------
def test_uniform_arg_constraints_and_validation(backend):
    for lib in (torch, xpnn):
        u = D(lib).Uniform(_t(lib, [0.0, 1.0]), _t(lib, [2.0, 3.0]))
        assert _r(u.arg_constraints["low"]).startswith("LessThan(upper_bound=tensor([2., 3.]")
        assert _r(u.arg_constraints["high"]).startswith("GreaterThan(lower_bound=tensor([0., 1.]")
    raises_like(lambda lib: D(lib).Uniform(_t(lib, [0.0, 2.0]), _t(lib, [1.0, 1.0])),
                host_only=True)
    raises_like(lambda lib: D(lib).Uniform(_t(lib, [1.0]), _t(lib, [1.0])), host_only=True)
    raises_like(lambda lib: D(lib).Uniform(_t(lib, [np.nan]), _t(lib, [1.0])), host_only=True)
    if xpnn.zeros(1)._be.on_host:
        with pytest.raises(ValueError, match=r"parameter low .* LessThan"):
            XD.Uniform(_t(xpnn, [0.0, 2.0]), _t(xpnn, [1.0, 1.0]))
    lp = XD.Uniform(_t(xpnn, [0.0]), _t(xpnn, [1.0]), validate_args=False)
    tp = TD.Uniform(_t(torch, [0.0]), _t(torch, [1.0]), validate_args=False)
    v = [-1.0, 0.5, 2.0]
    same(lp.log_prob(_t(xpnn, v)), tp.log_prob(_t(torch, v)))
    same(lp.cdf(_t(xpnn, v)), tp.cdf(_t(torch, v)))


def test_arg_constraint_reprs_of_vector_parameters():
    cases = [lambda lib: D(lib).Dirichlet(_t(lib, [1.0, 2.0])),
             lambda lib: D(lib).Categorical(_t(lib, [0.5, 0.5])),
             lambda lib: D(lib).Multinomial(3, _t(lib, [0.5, 0.5])),
             lambda lib: D(lib).MultivariateNormal(_t(lib, [0.0, 0.0]), _t(lib, np.eye(2))),
             lambda lib: D(lib).LowRankMultivariateNormal(_t(lib, [0.0, 0.0]),
                                                          _t(lib, [[1.0], [0.5]]),
                                                          _t(lib, [1.0, 2.0]))]
    for make in cases:
        t, x = make(torch), make(xpnn)
        assert {k: repr(v) for k, v in x.arg_constraints.items()} == \
            {k: repr(v) for k, v in t.arg_constraints.items()}
        assert repr(x.support) == repr(t.support)


@pytest.mark.parametrize("make", [
    lambda lib: D(lib).Dirichlet(_t(lib, [[0.2, 0.0, 0.5]])),
    lambda lib: D(lib).LowRankMultivariateNormal(_t(lib, [0.0, 0.0]), _t(lib, [[1.0], [0.5]]),
                                                 _t(lib, [1.0, 0.0])),
    lambda lib: D(lib).Normal(_t(lib, [0.0, 0.0]), _t(lib, [1.0, 0.0])),
    lambda lib: D(lib).Bernoulli(_t(lib, [0.2, 1.5])),
    lambda lib: D(lib).Categorical(_t(lib, [0.2, -0.3, 0.5])),
    lambda lib: D(lib).Categorical(logits=_t(lib, [np.nan, 0.0])),
], ids=["dirichlet0", "lowrank_diag0", "normal_scale0", "bernoulli",
        "categorical_neg", "categorical_nan"])
def test_invalid_parameters_raise(backend, make):
    raises_like(make, host_only=True)


def test_expand_returns_size(backend):
    makes = [lambda lib: D(lib).VonMises(_t(lib, [0.0, 1.0]), _t(lib, [1.0, 2.0])),
             lambda lib: D(lib).ContinuousBernoulli(_t(lib, [0.2, 0.7])),
             lambda lib: D(lib).LKJCholesky(3, _t(lib, [1.0, 2.0])),
             lambda lib: D(lib).Wishart(_t(lib, 6.0), covariance_matrix=_t(lib, np.eye(2))),
             lambda lib: D(lib).Normal(_t(lib, [0.0, 1.0]), _t(lib, [1.0, 2.0]))]
    for make in makes:
        t, x = make(torch), make(xpnn)
        shape = (4,) + tuple(t.batch_shape)
        te, xe = t.expand(shape), x.expand(shape)
        assert isinstance(xe.batch_shape, xpnn.Size) and xe.batch_shape == te.batch_shape
        assert tuple(xe.sample().shape) == tuple(te.batch_shape + te.event_shape)
        assert isinstance(x.expand(xpnn.Size(shape)).batch_shape, xpnn.Size)


@pytest.mark.parametrize("shape", [(), (2,), [2, 1], "Size", (0,), "tensor"])
def test_sample_shape_forms(backend, shape):
    def draw(lib):
        s = lib.Size([2, 1]) if shape == "Size" else \
            (_t(lib, [2], "int64") if shape == "tensor" else shape)
        return D(lib).Normal(_t(lib, [0.0, 1.0]), _t(lib, [1.0, 2.0])).rsample(s)
    t, x = draw(torch), draw(xpnn)
    assert tuple(x.shape) == tuple(t.shape) and xpnn.backend.dtype_name(x.dtype) == "float32"


@pytest.mark.parametrize("shape", [3, (2.0,), None, (-1,), (2, -3)])
def test_bad_sample_shape_raises_torch_class(backend, shape):
    for method in ("sample", "rsample"):
        raises_like(lambda lib: getattr(D(lib).Normal(_t(lib, [0.0]), _t(lib, [1.0])),
                                        method)(shape))
    raises_like(lambda lib: D(lib).Bernoulli(_t(lib, [0.3])).sample(shape))


def test_rsample_without_reparameterization():
    for make in [lambda lib: D(lib).Bernoulli(_t(lib, [0.3])),
                 lambda lib: D(lib).Poisson(_t(lib, [0.3])),
                 lambda lib: D(lib).Categorical(_t(lib, [0.3, 0.7]))]:
        assert make(xpnn).has_rsample is make(torch).has_rsample is False
        raises_like(lambda lib: make(lib).rsample())


def test_categorical_integer_weights(backend):
    for kind in ("probs", "logits"):
        t = TD.Categorical(**{kind: _t(torch, [1, 2, 1], "int64")})
        x = XD.Categorical(**{kind: _t(xpnn, [1, 2, 1], "int64")})
        same(x.probs, t.probs)
        same(x.logits, t.logits)
        same(x.log_prob(_t(xpnn, [0, 2], "int64")), t.log_prob(_t(torch, [0, 2], "int64")))
    t = TD.OneHotCategorical(probs=_t(torch, [[1, 3]], "int64"))
    x = XD.OneHotCategorical(probs=_t(xpnn, [[1, 3]], "int64"))
    same(x.probs, t.probs)


def test_independent_arguments(backend):
    def ind(lib, k):
        return D(lib).Independent(D(lib).Normal(_t(lib, np.zeros((2, 3))),
                                                _t(lib, np.ones((2, 3)))), k)
    raises_like(lambda lib: ind(lib, 1.0))  # TypeError, as torch
    raises_like(lambda lib: ind(lib, 3))  # ValueError: more than the batch dims
    raises_like(lambda lib: D(lib).Independent(_t(lib, [1.0]), 1))
    for k in (0, 1, 2):
        t, x = ind(torch, k), ind(xpnn, k)
        assert (x.batch_shape, x.event_shape) == (t.batch_shape, t.event_shape)
        assert _r(x) == _r(t) and repr(x.support) == repr(t.support)
        v = np.linspace(-1, 1, 6).reshape(2, 3)
        same(x.log_prob(_t(xpnn, v)), t.log_prob(_t(torch, v)))
    raises_like(lambda lib: ind(lib, 1).log_prob(_t(lib, np.ones((2, 4)))))
    raises_like(lambda lib: ind(lib, 1).expand((4, 3)))


def test_gamma_log_prob_of_a_number(backend):
    for name, args in [("Gamma", ([1.0, 2.0], [1.0, 2.0])), ("Chi2", ([1.0, 3.0],))]:
        t = getattr(TD, name)(*[_t(torch, a) for a in args])
        x = getattr(XD, name)(*[_t(xpnn, a) for a in args])
        same(x.log_prob(1.5), t.log_prob(1.5))
    raises_like(lambda lib: D(lib).Normal(_t(lib, [0.0]), _t(lib, [1.0])).log_prob(1.0))


# -- reprs ------------------------------------------------------------------------------
REPRS = [
    lambda lib: D(lib).Normal(0.0, 1.0),
    lambda lib: D(lib).Normal(_t(lib, [0.0]), _t(lib, [1.0])),
    lambda lib: D(lib).Normal(_t(lib, [0.0, 1.0]), _t(lib, [1.0, 2.0])),
    lambda lib: D(lib).Chi2(_t(lib, [1.0, 2.0])),
    lambda lib: D(lib).Beta(_t(lib, [1.0, 2.0]), _t(lib, [1.0, 2.0])),
    lambda lib: D(lib).InverseGamma(_t(lib, [1.0, 2.0]), _t(lib, [1.0, 2.0])),
    lambda lib: D(lib).LogisticNormal(_t(lib, [0.0, 1.0]), _t(lib, [1.0, 2.0])),
    lambda lib: D(lib).Uniform(_t(lib, [0.0, 1.0]), _t(lib, [1.0, 2.0])),
    lambda lib: D(lib).MultivariateNormal(_t(lib, [0.0, 0.0]), _t(lib, np.eye(2))),
    lambda lib: D(lib).MultivariateNormal(_t(lib, [0.0, 0.0]), scale_tril=_t(lib, np.eye(2))),
    lambda lib: D(lib).Wishart(_t(lib, 3.0), covariance_matrix=_t(lib, np.eye(2))),
    lambda lib: D(lib).TransformedDistribution(D(lib).Normal(_t(lib, [0.0]), _t(lib, [1.0])),
                                               [D(lib).transforms.ExpTransform()]),
    lambda lib: D(lib).LogNormal(_t(lib, [0.0]), _t(lib, [1.0])),
    lambda lib: D(lib).Binomial(_t(lib, [3.0, 4.0]), _t(lib, [0.5, 0.2])),
    lambda lib: D(lib).Independent(D(lib).Normal(_t(lib, [0.0]), _t(lib, [1.0])), 1),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_matches_torch(i):
    assert _r(REPRS[i](xpnn)) == _r(REPRS[i](torch))


def test_multinomial_support():
    t = TD.Multinomial(4, _t(torch, [0.5, 0.5]))
    x = XD.Multinomial(4, _t(xpnn, [0.5, 0.5]))
    assert repr(x.support) == repr(t.support)
    same(x.support.check(_t(xpnn, [[1.0, 3.0], [4.0, 1.0]])),
         t.support.check(_t(torch, [[1.0, 3.0], [4.0, 1.0]])))


# -- MixtureSameFamily: support, shape errors ---------------------------------------------
def _msf(lib, mix, comp_shape=(2, 3)):
    return D(lib).MixtureSameFamily(
        D(lib).Categorical(_t(lib, mix)),
        D(lib).Normal(_t(lib, np.zeros(comp_shape)), _t(lib, np.ones(comp_shape))))


def test_mixture_same_family(backend):
    mix = [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]
    t, x = _msf(torch, mix), _msf(xpnn, mix)
    assert repr(x.support) == repr(t.support) == "MixtureSameFamilyConstraint(Real())"
    assert (x.batch_shape, x.event_shape) == (t.batch_shape, t.event_shape)
    same(x.log_prob(_t(xpnn, [0.5, 1.0])), t.log_prob(_t(torch, [0.5, 1.0])))
    raises_like(lambda lib: _msf(lib, [[0.5, 0.5], [0.1, 0.9]]))  # K mismatch
    raises_like(lambda lib: _msf(lib, [[0.2, 0.3, 0.5]] * 3))  # batch mismatch
    raises_like(lambda lib: D(lib).MixtureSameFamily(D(lib).Bernoulli(_t(lib, [0.5])),
                                                     D(lib).Normal(_t(lib, [0.0]), _t(lib, [1.0]))))
    raises_like(lambda lib: D(lib).MixtureSameFamily(
        D(lib).Categorical(_t(lib, [0.5, 0.5])),
        D(lib).Exponential(_t(lib, [1.0, 2.0]))).log_prob(_t(lib, -1.0)), host_only=True)


# -- values and gradients against torch, float64 ------------------------------------------
VALUES = {  # name: (parameters, a value in the support)
    "Normal": ({"loc": [0.0, 1.0], "scale": [1.0, 0.5]}, [0.3, 2.0]),
    "Gamma": ({"concentration": [0.7, 2.0], "rate": [1.0, 3.0]}, [0.3, 2.0]),
    "Beta": ({"concentration1": [0.7, 2.0], "concentration0": [1.0, 3.0]}, [0.3, 0.9]),
    "Uniform": ({"low": [0.0, -1.0], "high": [1.0, 2.0]}, [0.3, 1.5]),
    "Dirichlet": ({"concentration": [[0.7, 2.0, 1.5]]}, [[0.2, 0.3, 0.5]]),
    "StudentT": ({"df": [1.5, 4.0], "loc": [0.0, 1.0], "scale": [1.0, 2.0]}, [0.3, -2.0]),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_log_prob_entropy_and_gradients(backend, name):
    params, value = VALUES[name]
    tp = {k: _t(torch, v, "float64", grad=True) for k, v in params.items()}
    xp = {k: _t(xpnn, v, "float64", grad=True) for k, v in params.items()}
    t, x = getattr(TD, name)(**tp), getattr(XD, name)(**xp)
    tl, xl = t.log_prob(_t(torch, value, "float64")), x.log_prob(_t(xpnn, value, "float64"))
    same(xl, tl)
    same(x.entropy(), t.entropy())
    (tl.sum() + t.entropy().sum()).backward()
    (xl.sum() + x.entropy().sum()).backward()
    for k in params:
        # digamma / lgamma gradients: torch's and xpnn's series differ in the last digits
        np.testing.assert_allclose(xp[k].grad.numpy(), tp[k].grad.numpy(),
                                   rtol=1e5 * TOL64, atol=1e5 * TOL64, err_msg=k)


def test_float64_parameters_give_float64_samples(backend):
    for name, (params, _) in VALUES.items():
        x = getattr(XD, name)(**{k: _t(xpnn, v, "float64") for k, v in params.items()})
        t = getattr(TD, name)(**{k: _t(torch, v, "float64") for k, v in params.items()})
        assert xpnn.backend.dtype_name(x.sample((2,)).dtype) == "float64"
        assert tuple(x.sample((2,)).shape) == tuple(t.sample((2,)).shape)


def test_kumaraswamy_mode_is_the_closed_form():
    a, b = np.array([1.0, 2.0, 0.5]), np.array([1.0, 3.0, 2.0])
    mode = XD.Kumaraswamy(_t(xpnn, a, "float64"), _t(xpnn, b, "float64")).mode.numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        want = ((a - 1) / (a * b - 1)) ** (1 / a)
    assert math.isclose(mode[1], want[1], rel_tol=TOL32)
    assert np.isnan(mode[[0, 2]]).all()  # no interior mode where a or b < 1 (or a = b = 1)


# -- kl_divergence --------------------------------------------------------------------------
def _n(lib):
    return D(lib).Normal(_t(lib, [0.0, 1.0]), _t(lib, [1.0, 2.0]))


def test_kl_registered_and_unregistered(backend):
    registered = [(_n, lambda lib: D(lib).Exponential(_t(lib, [1.0, 2.0]))),  # inf
                  (lambda lib: D(lib).Bernoulli(_t(lib, [0.2, 0.6])),
                   lambda lib: D(lib).Poisson(_t(lib, [0.2, 0.6])))]
    for p, q in registered:
        same(XD.kl_divergence(p(xpnn), q(xpnn)), TD.kl_divergence(p(torch), q(torch)))
    for p, q in [(lambda lib: D(lib).Categorical(_t(lib, [0.2, 0.8])), _n),
                 (lambda lib: D(lib).Independent(_n(lib), 1), _n)]:  # not registered
        raises_like(lambda lib: D(lib).kl_divergence(p(lib), q(lib)))
    raises_like(lambda lib: D(lib).kl_divergence(
        _n(lib), D(lib).Normal(_t(lib, [0.0, 1.0, 2.0]), _t(lib, [1.0, 1.0, 1.0]))))
    raises_like(lambda lib: D(lib).kl_divergence(
        D(lib).MultivariateNormal(_t(lib, [0.0, 0.0]), _t(lib, np.eye(2))),
        D(lib).MultivariateNormal(_t(lib, [0.0, 0.0, 0.0]), _t(lib, np.eye(3)))))
    same(XD.kl_divergence(XD.Independent(_n(xpnn), 1), XD.Independent(_n(xpnn), 1)),
         TD.kl_divergence(TD.Independent(_n(torch), 1), TD.Independent(_n(torch), 1)))
    same(XD.kl_divergence(_n(xpnn), XD.Normal(_t(xpnn, [[0.0], [2.0]]), _t(xpnn, [[1.0]]))),
         TD.kl_divergence(_n(torch), TD.Normal(_t(torch, [[0.0], [2.0]]), _t(torch, [[1.0]]))))
