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


# -- private bases and helper modules that programs import from PyTorch's paths ----------
# * torch.nn.modules.loss._Loss/_WeightedLoss (the bases custom losses subclass; _Loss's
#   constructor now takes PyTorch's (size_average, reduce, reduction)), batchnorm._BatchNorm
#   and _NormBase (isinstance checks; the instance norms are no longer _BatchNorm, as in
#   PyTorch), instancenorm._InstanceNorm, conv._ConvNd, dropout._DropoutNd,
#   torch.nn.modules.utils (_pair...), torch.nn.common_types, torch.utils.data._utils.collate,
#   torch.autograd.variable and torch.types were missing.


def test_norm_and_conv_bases_answer_isinstance_as_torch():
    from xpnn.nn.modules.batchnorm import _BatchNorm, _NormBase
    from xpnn.nn.modules.conv import _ConvNd
    from xpnn.nn.modules.dropout import _DropoutNd
    from xpnn.nn.modules.instancenorm import _InstanceNorm
    from torch.nn.modules import batchnorm as tb, conv as tc, dropout as td, instancenorm as ti
    pairs = [(_BatchNorm, tb._BatchNorm), (_NormBase, tb._NormBase), (_ConvNd, tc._ConvNd),
             (_DropoutNd, td._DropoutNd), (_InstanceNorm, ti._InstanceNorm)]
    layers = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d",
              "InstanceNorm2d", "LazyBatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose2d",
              "Dropout", "Dropout2d", "AlphaDropout", "LayerNorm", "GroupNorm", "Linear"]
    args = {"Conv1d": (2, 3, 3), "Conv2d": (2, 3, 3), "ConvTranspose2d": (2, 3, 3),
            "LayerNorm": (3,), "GroupNorm": (1, 3), "Linear": (2, 3), "Dropout": (),
            "Dropout2d": (), "AlphaDropout": (), "LazyBatchNorm2d": ()}
    for name in layers:
        a = args.get(name, (3,))
        mine, theirs = getattr(xpnn.nn, name)(*a), getattr(torch.nn, name)(*a)
        for x_cls, t_cls in pairs:
            assert isinstance(mine, x_cls) == isinstance(theirs, t_cls), (name, t_cls)


def test_custom_losses_subclass_the_bases_as_in_torch():
    from xpnn.nn.modules.loss import _Loss, _WeightedLoss

    def make(base_lib, weighted):
        base = (base_lib.nn.modules.loss._WeightedLoss if weighted
                else base_lib.nn.modules.loss._Loss)

        class Focal(base):
            def __init__(self, weight=None, gamma=2.0, reduction="mean"):
                if weighted:
                    super().__init__(weight, None, None, reduction)
                else:
                    super().__init__(None, None, reduction)
                self.gamma = gamma

            def forward(self, logits, target):
                ce = base_lib.nn.functional.cross_entropy(
                    logits, target, weight=getattr(self, "weight", None), reduction="none")
                loss = (1 - (-ce).exp()) ** self.gamma * ce
                return loss.mean() if self.reduction == "mean" else loss.sum()
        return Focal
    rng = np.random.default_rng(3)
    z, t = rng.standard_normal((6, 4)).astype(np.float32), rng.integers(0, 4, 6)
    w = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
    for weighted in (False, True):
        kw = {"weight": w} if weighted else {}
        mine = make(xpnn, weighted)(reduction="sum", **{k: xpnn.tensor(v) for k, v in
                                                         kw.items()})
        theirs = make(torch, weighted)(reduction="sum", **{k: torch.tensor(v) for k, v in
                                                           kw.items()})
        assert isinstance(mine, _Loss) and isinstance(mine, _WeightedLoss) == weighted
        assert mine.reduction == "sum" and list(dict(mine.named_buffers())) == \
            list(dict(theirs.named_buffers()))
        np.testing.assert_allclose(mine(xpnn.tensor(z), xpnn.tensor(t)).numpy(),
                                   theirs(torch.tensor(z), torch.tensor(t)).numpy(),
                                   rtol=1e-5)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert _Loss(size_average=False).reduction == "sum"
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "MultiMarginLoss",
                 "MultiLabelSoftMarginLoss", "MSELoss", "BCEWithLogitsLoss"):
        assert isinstance(getattr(xpnn.nn, name)(), _WeightedLoss) == isinstance(
            getattr(torch.nn, name)(), torch.nn.modules.loss._WeightedLoss), name


def test_module_utils_as_torch():
    from xpnn.nn.modules import utils as U
    from torch.nn.modules import utils as TU
    for name in ("_single", "_pair", "_triple", "_quadruple"):
        for v in (3, (1, 2), [4, 5, 6]):
            assert getattr(U, name)(v) == getattr(TU, name)(v)
    assert U._ntuple(5)(2) == TU._ntuple(5)(2)
    assert U._reverse_repeat_tuple((1, 2, 3), 2) == TU._reverse_repeat_tuple((1, 2, 3), 2)
    assert U._list_with_default([None, 3], [1, 2, 5, 6]) == \
        TU._list_with_default([None, 3], [1, 2, 5, 6])


def test_more_module_paths():
    from xpnn.autograd.variable import Variable
    from xpnn.nn.common_types import _size_2_t, _size_any_t  # noqa: F401
    from xpnn.types import Device, Number  # noqa: F401
    from xpnn.utils.data._utils.collate import default_collate
    out = default_collate([{"a": xpnn.ones(2)}, {"a": xpnn.zeros(2)}])
    assert tuple(out["a"].shape) == (2, 2)
    assert Variable is xpnn.autograd.Variable


@pytest.mark.parametrize("name", ["numpy", "torch", "array_api_strict"])
def test_from_numpy_lands_on_the_default_backends_cpu(name):
    """torch.from_numpy shares the array's memory and gives a CPU tensor that meets a CPU
    model; with the default backend torch or array-api-strict it was a NumPy-backend tensor,
    which a model of the default backend refused (mixed backends)."""
    from xpnn.backend import default_backend
    before = default_backend()
    xpnn.set_default_backend(name)
    try:
        a = np.ones((2, 3), np.float32)
        t = xpnn.from_numpy(a)
        assert t.backend == name and t.device.type == "cpu"
        a[0, 0] = 7.0  # shared memory, as torch.from_numpy's
        assert float(t[0, 0].item()) == 7.0
        assert tuple(xpnn.nn.Linear(3, 2)(t).shape) == (2, 2)
    finally:
        xpnn.set_default_backend(before.name, before.device)
