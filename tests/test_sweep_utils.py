"""Regression tests from an adversarial sweep of nn.init, nn.utils (clipping, parameter
vectors) and torch.utils.data against torch 2.13: each case ran differently in xpnn before its
fix. A case is a function of the module (``xpnn`` or ``torch``), called the same way on both;
results are compared in shape, dtype and value, and an error must be torch's exception class
(or a subclass)."""
import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")

from torch_same import raises_like, same as _same  # noqa: E402


def _grads(m, dtypes=("float32", "float64")):
    """Leaves whose .grad are [3, 4] in each dtype."""
    out = []
    for d in dtypes:
        p = m.zeros(2, dtype=getattr(m, d), requires_grad=True)
        p.grad = m.tensor([3., 4.], dtype=getattr(m, d))
        out.append(p)
    return out


def _clip_mixed(m, dtypes):
    ps = _grads(m, dtypes)
    return m.nn.utils.clip_grad_norm_(ps, 1.0), [p.grad for p in ps]


def _total_norm_mixed(m):
    return m.nn.utils.get_total_norm([p.grad for p in _grads(m)], 3.0)


def _vector_longer(m):
    ps = [m.zeros(2, 3, requires_grad=True), m.zeros(2, requires_grad=True)]
    m.nn.utils.vector_to_parameters(m.arange(10.), ps)  # torch ignores the 2 left over
    return [p.detach() for p in ps]


def _subset_getitems(m):
    ds = m.utils.data.TensorDataset(m.arange(10), m.arange(10) * 2.)
    return [list(s) for s in m.utils.data.Subset(ds, [1, 5, 7]).__getitems__([0, 2])]


def _subset_loader(m):
    ds = m.utils.data.TensorDataset(m.arange(10), m.arange(10) * 2.)
    return list(m.utils.data.DataLoader(m.utils.data.Subset(ds, [9, 1, 5, 7]), batch_size=3))


# name -> f(module): runs on both modules, the results compared
CASES = {
    # gradients of two dtypes: each norm in its own dtype, the total in the promoted one
    "clip_grad_norm_f32_f64": lambda m: _clip_mixed(m, ("float32", "float64")),
    "clip_grad_norm_f64_f32": lambda m: _clip_mixed(m, ("float64", "float32")),
    "get_total_norm_mixed": _total_norm_mixed,
    "vector_to_parameters_longer": _vector_longer,
    "subset_getitems": _subset_getitems,
    "subset_loader": _subset_loader,
    "calculate_gain_linear_int": lambda m: [m.nn.init.calculate_gain(n) for n in
                                            ("linear", "conv2d", "sigmoid")],
    # memory formats: the same module back (a no-op in xpnn, whose arrays have no strides)
    "convert_conv_weight_memory_format": lambda m: [
        type(f(mod := m.nn.Sequential(conv), fmt)) is type(mod) and f(mod, fmt) is mod
        for f, conv, fmt in (
            (m.nn.utils.convert_conv2d_weight_memory_format, m.nn.Conv2d(2, 3, 3),
             m.channels_last),
            (m.nn.utils.convert_conv3d_weight_memory_format, m.nn.Conv3d(2, 3, 3),
             m.channels_last_3d))],
}


def _fill(fn, dtype="int64", shape=(3, 3), *args, **kwargs):
    def case(m):
        return getattr(m.nn.init, fn)(m.empty(*shape, dtype=getattr(m, dtype)), *args,
                                      **kwargs)
    return case


# name -> f(module) that torch refuses: xpnn must raise torch's class (or a subclass of it)
RAISES = {
    # random fills of integer tensors (torch: NotImplementedError "... for 'Long'")
    "uniform_int": _fill("uniform_"),
    "normal_int": _fill("normal_"),
    "trunc_normal_int": _fill("trunc_normal_"),
    "xavier_uniform_int": _fill("xavier_uniform_"),
    "kaiming_normal_int": _fill("kaiming_normal_"),
    "orthogonal_int": _fill("orthogonal_"),
    "sparse_int": _fill("sparse_", "int64", (3, 3), 0.5),
    # bad bounds (torch: RuntimeError)
    "uniform_a_above_b": _fill("uniform_", "float32", (3,), 2.0, 1.0),
    "normal_negative_std": _fill("normal_", "float32", (3,), 0.0, -1.0),
    "trunc_normal_a_above_b": _fill("trunc_normal_", "float32", (3,), a=2.0, b=1.0),
    # parameter vectors
    "vector_to_parameters_list": lambda m: m.nn.utils.vector_to_parameters(
        [1., 2.], [m.zeros(2, requires_grad=True)]),
    "vector_to_parameters_short": lambda m: m.nn.utils.vector_to_parameters(
        m.arange(3.), [m.zeros(2, 2, requires_grad=True)]),
    # samplers
    "random_sampler_replacement_int": lambda m: m.utils.data.RandomSampler(
        range(4), replacement=1),
    # (torch raises when iterating, xpnn already when constructing)
    "weighted_sampler_negative": lambda m: list(m.utils.data.WeightedRandomSampler(
        [-1., 1.], 4)),
    "weighted_sampler_all_zero": lambda m: list(m.utils.data.WeightedRandomSampler(
        [0., 0.], 4)),
    "weighted_sampler_too_many": lambda m: list(m.utils.data.WeightedRandomSampler(
        [1., 1., 2.], 4, replacement=False)),
    "distributed_sampler_no_group": lambda m: m.utils.data.DistributedSampler(range(10)),
    "convert_memory_format_str": lambda m: m.nn.utils.convert_conv2d_weight_memory_format(
        m.nn.Conv2d(1, 1, 1), "channels_last"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, name):
    _same(CASES[name](xpnn), CASES[name](torch))


@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_like_torch(backend, name):
    raises_like(RAISES[name])


def test_clip_grad_norm_mixed_dtypes_scale_each_grad_in_its_dtype(backend):
    """float16 and float32 gradients (torch: a float32 total); float16 where the backend has
    it (array-api-strict has no float16)."""
    if not hasattr(xpnn.zeros(1)._be.xp, "float16"):
        pytest.skip("no float16 in this namespace")
    x, t = _clip_mixed(xpnn, ("float16", "float32")), _clip_mixed(torch, ("float16", "float32"))
    assert str(x[0].dtype).endswith("float32") and str(t[0].dtype).endswith("float32")
    tol = 10 * np.finfo(np.float16).eps  # the float16 norm is rounded before promotion
    np.testing.assert_allclose(x[0].numpy(), t[0].numpy(), rtol=tol)
    for a, b in zip(x[1], t[1]):
        assert str(a.dtype).rsplit(".")[-1] == str(b.dtype).rsplit(".")[-1]
        np.testing.assert_allclose(a.numpy().astype(np.float32), b.numpy(), rtol=tol)


def test_init_errors_keep_python_classes():
    """The bound errors are RuntimeError (torch) and still ValueError (xpnn before); the
    integer-dtype refusal is NotImplementedError (torch) and still TypeError."""
    with pytest.raises(ValueError):
        xpnn.nn.init.uniform_(xpnn.empty(3), 2.0, 1.0)
    with pytest.raises(TypeError):
        xpnn.nn.init.normal_(xpnn.empty(3, dtype=xpnn.int64))
    with pytest.raises(RuntimeError):
        xpnn.utils.data.DistributedSampler(range(10))


# -- parametrizations.orthogonal (missing before the sweep) -------------------------------------
_RNG = np.random.default_rng(0)
_W = {s: _RNG.standard_normal(s) for s in [(4, 4), (5, 3), (3, 5)]}
_X = {s: 0.3 * _RNG.standard_normal(s) + 2 * np.eye(*s) for s in _W}
_BASE = {n: np.linalg.qr(_RNG.standard_normal((n, n)))[0] for n in (4, 5)}


def _orthogonal(m, shape, orthogonal_map):
    """Weight and gradient of an orthogonal-parametrized Linear, its X and base set alike."""
    layer = m.nn.Linear(shape[1], shape[0]).to(m.float64)
    with m.no_grad():
        layer.weight.copy_(m.tensor(_W[shape], dtype=m.float64))
    m.nn.utils.parametrizations.orthogonal(layer, orthogonal_map=orthogonal_map)
    par = layer.parametrizations.weight
    with m.no_grad():
        par.original.copy_(m.tensor(_X[shape], dtype=m.float64))
        par[0].base.copy_(m.tensor(_BASE[max(shape)], dtype=m.float64))
    w = layer.weight
    w.pow(3).sum().backward()
    return w, par.original.grad


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_matches_torch(backend, shape, orthogonal_map):
    """Forward and gradient against torch, float64 (TOL64)."""
    _same(_orthogonal(xpnn, shape, orthogonal_map), _orthogonal(torch, shape, orthogonal_map))


@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
def test_orthogonal_initial_value_and_keys(backend, orthogonal_map):
    """A square weight becomes the Q of its QR (as torch); a wide one gets orthonormal
    rows; the state_dict keys are torch's."""
    def square(m):
        layer = m.nn.Linear(4, 4)
        with m.no_grad():
            layer.weight.copy_(m.tensor(_W[(4, 4)].astype(np.float32)))
        m.nn.utils.parametrizations.orthogonal(layer, orthogonal_map=orthogonal_map)
        return layer.weight, sorted(layer.state_dict())
    (w, keys), (tw, tkeys) = square(xpnn), square(torch)
    _same(w, tw)
    assert keys == tkeys == ["bias", "parametrizations.weight.0.base",
                             "parametrizations.weight.original"]
    wide = xpnn.nn.utils.parametrizations.orthogonal(xpnn.nn.Linear(5, 3),
                                                     orthogonal_map=orthogonal_map).weight
    eps = 100 * np.finfo(np.float32).eps
    np.testing.assert_allclose((wide @ wide.mT).detach().numpy(), np.eye(3), atol=eps)


def test_orthogonal_stays_orthogonal_when_trained(backend):
    layer = xpnn.nn.utils.parametrizations.orthogonal(xpnn.nn.Linear(4, 4))
    opt = xpnn.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        layer(xpnn.randn(5, 4)).pow(2).sum().backward()
        opt.step()
    w = layer.weight.detach()
    np.testing.assert_allclose((w @ w.mT).numpy(), np.eye(4), atol=100 * np.finfo(np.float32).eps)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_gradcheck(host_backend, orthogonal_map):
    """float64 finite differences of the map from X to Q (a tall matrix)."""
    from xpnn.nn.utils._orthogonal import _Orthogonal
    par = _Orthogonal(xpnn.zeros(5, 3, dtype=xpnn.float64), orthogonal_map,
                      use_trivialization=False)
    x = xpnn.tensor(_X[(5, 3)], dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(par, x)


ORTHOGONAL_RAISES = {
    "bad_map": lambda m: m.nn.utils.parametrizations.orthogonal(m.nn.Linear(3, 3),
                                                                orthogonal_map="qr"),
    "vector": lambda m: m.nn.utils.parametrizations.orthogonal(m.nn.Linear(3, 3), "bias"),
    "assign_matrix_exp_no_trivialization": lambda m: setattr(
        m.nn.utils.parametrizations.orthogonal(m.nn.Linear(3, 3), use_trivialization=False),
        "weight", m.eye(3)),
}


@pytest.mark.parametrize("name", sorted(ORTHOGONAL_RAISES))
def test_orthogonal_raises_like_torch(backend, name):
    raises_like(ORTHOGONAL_RAISES[name])


# -- nn.utils.prune (missing before the sweep) --------------------------------------------------
import torch.nn.utils.prune  # noqa: E402,F401  (torch does not import it with nn.utils)

_PW = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
_PX = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)


def _pruned_linear(m):
    layer = m.nn.Linear(4, 6)
    with m.no_grad():
        layer.weight.copy_(m.tensor(_PW))
        layer.bias.copy_(m.arange(6.) - 2.5)
    return layer


def _prune_run(m, *steps, remove=False):
    """Apply ``steps`` (functions of (prune module, layer)) to a Linear, run it forward and
    backward; its weight, output, gradients and names."""
    layer, prune = _pruned_linear(m), m.nn.utils.prune
    for step in steps:
        step(prune, layer)
    if remove:
        prune.remove(layer, "weight")
    y = layer(m.tensor(_PX))
    y.pow(2).sum().backward()
    names = (sorted(layer.state_dict()), [n for n, _ in layer.named_parameters()],
             [n for n, _ in layer.named_buffers()], prune.is_pruned(layer))
    grads = [p.grad for _, p in layer.named_parameters()]
    return names, layer.weight, y, grads


def _l1(amount, name="weight"):
    return lambda prune, layer: prune.l1_unstructured(layer, name, amount=amount)


def _ln(amount, n, dim):
    return lambda prune, layer: prune.ln_structured(layer, "weight", amount=amount, n=n, dim=dim)


def _global(amount):
    def step(prune, layer):
        prune.global_unstructured([(layer, "weight"), (layer, "bias")],
                                  pruning_method=prune.L1Unstructured, amount=amount)
    return step


def _custom(prune, layer):
    m = xpnn if isinstance(layer, xpnn.nn.Module) else torch
    prune.custom_from_mask(layer, "weight", mask=m.tensor(np.arange(24).reshape(6, 4) % 3 > 0))


def _importance(prune, layer):
    m = xpnn if isinstance(layer, xpnn.nn.Module) else torch
    scores = m.tensor(np.arange(24, dtype=np.float32).reshape(6, 4)[::-1].copy())
    prune.l1_unstructured(layer, "weight", amount=10, importance_scores=scores)


PRUNE_CASES = {
    "l1_fraction": (_l1(0.3),),
    "l1_count": (_l1(5),),
    "l1_all": (_l1(1.0),),
    "l1_none": (_l1(0),),
    "l1_bias": (_l1(2, "bias"),),
    "l1_twice": (_l1(0.3), _l1(0.5)),
    "l1_then_ln": (_l1(0.3), _ln(2, 2, 0)),
    "ln_then_ln": (_ln(0.34, 1, 0), _ln(1, 2, 1)),
    "ln_dim1": (_ln(0.5, 2, 1),),
    "ln_inf": (_ln(2, float("inf"), 0),),
    "ln_last_dim": (_ln(2, 1, -1),),
    "global": (_global(0.4),),
    "global_after_l1": (_l1(5), _global(7)),
    "custom_mask": (_custom,),
    "importance_scores": (_importance,),
    "identity": (lambda prune, layer: prune.identity(layer, "weight"),),
}


@pytest.mark.parametrize("name", sorted(PRUNE_CASES))
def test_prune_matches_torch(backend, name):
    _same(_prune_run(xpnn, *PRUNE_CASES[name]), _prune_run(torch, *PRUNE_CASES[name]))


def test_prune_remove_matches_torch(backend):
    _same(_prune_run(xpnn, _l1(0.3), _ln(1, 2, 0), remove=True),
          _prune_run(torch, _l1(0.3), _ln(1, 2, 0), remove=True))


@pytest.mark.parametrize("fn,kwargs,zeros", [
    ("random_unstructured", {"amount": 0.5}, 12),
    ("random_structured", {"amount": 2, "dim": 0}, 8),
    ("random_structured", {"amount": 0.5, "dim": 1}, 12)])
def test_prune_random_counts(backend, fn, kwargs, zeros):
    """Random draws differ from torch's: the number pruned, and reproducibility by seed."""
    def masks():
        xpnn.manual_seed(7)
        layer = getattr(xpnn.nn.utils.prune, fn)(_pruned_linear(xpnn), "weight", **kwargs)
        return layer.weight_mask.numpy()
    a, b = masks(), masks()
    assert int((a == 0).sum()) == zeros and np.array_equal(a, b)
    assert str(a.dtype) == "float32"


def test_prune_trains_only_kept_entries(backend):
    layer = xpnn.nn.utils.prune.l1_unstructured(_pruned_linear(xpnn), "weight", amount=0.5)
    opt = xpnn.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        layer(xpnn.tensor(_PX)).pow(2).sum().backward()
        opt.step()
    mask = layer.weight_mask.numpy()
    assert np.all(layer.weight.detach().numpy()[mask == 0] == 0)
    assert np.array_equal(layer.weight_orig.detach().numpy()[mask == 0], _PW[mask == 0])


PRUNE_RAISES = {
    "structured_1d": lambda m: m.nn.utils.prune.ln_structured(m.nn.Linear(3, 2), "bias", 1, 1, 0),
    "structured_bad_dim": lambda m: m.nn.utils.prune.ln_structured(m.nn.Linear(3, 2),
                                                                   "weight", 1, 1, 3),
    "amount_too_many": lambda m: m.nn.utils.prune.l1_unstructured(m.nn.Linear(3, 2),
                                                                  "weight", 7),
    "amount_negative": lambda m: m.nn.utils.prune.l1_unstructured(m.nn.Linear(3, 2),
                                                                  "weight", -1),
    "amount_fraction_above_1": lambda m: m.nn.utils.prune.l1_unstructured(
        m.nn.Linear(3, 2), "weight", 1.5),
    "amount_string": lambda m: m.nn.utils.prune.l1_unstructured(m.nn.Linear(3, 2),
                                                                "weight", "a"),
    "remove_unpruned": lambda m: m.nn.utils.prune.remove(m.nn.Linear(3, 2), "weight"),
    "global_structured": lambda m: m.nn.utils.prune.global_unstructured(
        [(m.nn.Linear(3, 2), "weight")], pruning_method=m.nn.utils.prune.LnStructured,
        amount=1, n=1, dim=0),
    "global_not_iterable": lambda m: m.nn.utils.prune.global_unstructured(
        m.nn.Linear(3, 2), pruning_method=m.nn.utils.prune.L1Unstructured, amount=1),
}


@pytest.mark.parametrize("name", sorted(PRUNE_RAISES))
def test_prune_raises_like_torch(backend, name):
    raises_like(PRUNE_RAISES[name])


def test_prune_failure_leaves_module_as_it_was():
    layer = xpnn.nn.Linear(3, 2)
    with pytest.raises(ValueError):
        xpnn.nn.utils.prune.l1_unstructured(layer, "weight", amount=7)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    assert not xpnn.nn.utils.prune.is_pruned(layer)
