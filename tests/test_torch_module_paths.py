"""PyTorch's module paths and old spellings that programs import or call, against torch 2.13:

* ``from torch.distributions.normal import Normal`` (every ``torch.distributions.<module>``
  path) was a ModuleNotFoundError; ``torch.distributions.utils`` (broadcast_all,
  probs_to_logits, logits_to_probs, clamp_probs, lazy_property, tril_matrix_to_vec,
  vec_to_tril_matrix) was missing.
* ``nn.init.xavier_uniform`` and the other names without the trailing underscore, and
  ``nn.utils.clip_grad_norm``, PyTorch's deprecated spellings (they warn FutureWarning and
  work), were missing; so were the module paths ``torch.nn.utils.clip_grad`` and
  ``torch.nn.utils.convert_parameters``.
"""
import importlib
import warnings

import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")

from xpnn.distributions._torch_paths import PATHS  # noqa: E402


@pytest.mark.parametrize("module", sorted(PATHS) + ["utils", "kl", "constraints",
                                                     "transforms", "gamma", "independent",
                                                     "multivariate_normal", "distribution",
                                                     "continuous_bernoulli",
                                                     "lowrank_multivariate_normal"])
def test_every_distributions_module_path_imports(module):
    mine = importlib.import_module(f"xpnn.distributions.{module}")
    theirs = importlib.import_module(f"torch.distributions.{module}")
    names = getattr(theirs, "__all__", None) or PATHS.get(module, [])
    for name in names:
        assert hasattr(mine, name), f"xpnn.distributions.{module} lacks {name}"
        if name[:1].isupper() and module in PATHS:  # the classes are the package's own
            assert getattr(mine, name) is _top(name)
    assert getattr(xpnn.distributions, module) is mine


def _top(name):
    import sys
    for mod in ("", ".relaxed", ".discrete", ".more_families"):
        got = getattr(sys.modules.get(f"xpnn.distributions{mod}"), name, None)
        if got is not None:
            return got
    raise AssertionError(name)


def test_from_imports_as_programs_write_them():
    from xpnn.distributions.normal import Normal
    from xpnn.distributions.one_hot_categorical import OneHotCategoricalStraightThrough
    from xpnn.distributions.relaxed_bernoulli import LogitRelaxedBernoulli
    from xpnn.distributions.relaxed_categorical import ExpRelaxedCategorical
    from xpnn.distributions.studentT import StudentT
    assert Normal is xpnn.distributions.Normal and StudentT is xpnn.distributions.StudentT
    assert OneHotCategoricalStraightThrough.__name__ == "OneHotCategoricalStraightThrough"
    assert LogitRelaxedBernoulli and ExpRelaxedCategorical


def test_distributions_utils_as_torch(backend):
    from xpnn.distributions import utils as U
    from torch.distributions import utils as TU
    rng = np.random.default_rng(0)
    p = np.array([0.0, 0.25, 0.5, 1.0], np.float32)
    z = rng.standard_normal((3, 4)).astype(np.float32)
    mk = lambda a: xpnn.tensor(a, backend=backend)  # noqa: E731
    for binary in (False, True):
        np.testing.assert_allclose(U.probs_to_logits(mk(p), binary).numpy(),
                                   TU.probs_to_logits(torch.tensor(p), binary).numpy(),
                                   rtol=1e-6)
        np.testing.assert_allclose(U.logits_to_probs(mk(z), binary).numpy(),
                                   TU.logits_to_probs(torch.tensor(z), binary).numpy(),
                                   rtol=1e-6)
    np.testing.assert_array_equal(U.clamp_probs(mk(p)).numpy(),
                                  TU.clamp_probs(torch.tensor(p)).numpy())
    m = rng.standard_normal((2, 4, 4)).astype(np.float32)
    for diag in (-2, -1, 0, 1):
        v, tv = U.tril_matrix_to_vec(mk(m), diag), TU.tril_matrix_to_vec(torch.tensor(m), diag)
        np.testing.assert_array_equal(v.numpy(), tv.numpy())
        np.testing.assert_array_equal(U.vec_to_tril_matrix(v, diag).numpy(),
                                      TU.vec_to_tril_matrix(tv, diag).numpy())
    with pytest.raises(ValueError, match="cannot be expressed as the lower triangular"):
        U.vec_to_tril_matrix(mk(np.ones(5, np.float32)))
    with pytest.raises(ValueError, match=r"diag \(4\) provided is outside"):
        U.tril_matrix_to_vec(mk(m), 4)
    a, b = U.broadcast_all(mk(np.ones((2, 1), np.float32)), 3.0)
    assert tuple(a.shape) == tuple(b.shape) == (2, 1)


def test_vec_to_tril_matrix_gradient():
    from xpnn.distributions.utils import vec_to_tril_matrix
    v = xpnn.tensor(np.arange(1.0, 7.0), dtype=xpnn.float64, requires_grad=True)
    tv = torch.tensor(np.arange(1.0, 7.0), requires_grad=True)
    (vec_to_tril_matrix(v) ** 2).sum().backward()
    (torch.distributions.utils.vec_to_tril_matrix(tv) ** 2).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy())


def test_lazy_property_computes_once():
    from xpnn.distributions.utils import lazy_property
    calls = []

    class A:
        @lazy_property
        def value(self):
            calls.append(1)
            return 42
    a = A()
    assert a.value == 42 and a.value == 42 and calls == [1]
    assert isinstance(A.value, lazy_property)


OLD_INIT = ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
            "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]
ARGS = {"constant": (0.5,), "sparse": (0.5,)}


@pytest.mark.parametrize("name", OLD_INIT)
def test_old_init_names_warn_and_work(name):
    shape = (3, 4, 3) if name == "dirac" else (3, 4)
    w = xpnn.empty(*shape)
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of "
                                           f"`nn.init.{name}_`"):
        out = getattr(xpnn.nn.init, name)(w, *ARGS.get(name, ()))
    assert out is w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(torch.nn.init, name)(torch.empty(*shape), *ARGS.get(name, ()))  # exists there


def test_clip_grad_norm_old_name_and_module_paths():
    from xpnn.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
    from xpnn.nn.utils.convert_parameters import parameters_to_vector
    m = xpnn.nn.Linear(2, 2)
    m(xpnn.ones(1, 2)).sum().backward()
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        total = xpnn.nn.utils.clip_grad_norm(m.parameters(), 0.1)
    assert float(total) > 0.1
    assert parameters_to_vector(m.parameters()).shape == (6,)
