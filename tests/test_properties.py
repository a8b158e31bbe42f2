"""Property-based tests (hypothesis): random small MLPs pass gradcheck and agree across
backends; random bytes, byte flips and truncations of a checkpoint never crash, hang or
half-load: they raise CheckpointError with the model untouched (or, for a flip JSON does not
see, such as a padding space turned into a tab, load exactly what was saved).

Examples are derandomized (the same in every CI run) and bounded, with no deadline.
"""
import numpy as np
import pytest
from conftest import BACKENDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpnn
import xpnn.functional as F
from xpnn import nn
from xpnn.io import CheckpointError

SETTINGS = {"deadline": None, "derandomize": True, "database": None,
            "suppress_health_check": [HealthCheck.too_slow]}
# smooth activations: finite differences across a kink (ReLU at 0) are not a gradient
ACTS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus, "gelu": nn.GELU,
        "silu": nn.SiLU, "elu": nn.ELU}
EPS32 = float(np.finfo(np.float32).eps)

archs = st.fixed_dictionaries({
    "widths": st.lists(st.integers(1, 5), min_size=2, max_size=4),
    "acts": st.lists(st.sampled_from(sorted(ACTS)), min_size=3, max_size=3),
    "batch": st.integers(1, 4),
    "seed": st.integers(0, 2 ** 16)})


def build(arch, backend, dtype):
    xpnn.manual_seed(arch["seed"])  # host-drawn init: the same weights on every backend
    w, layers = arch["widths"], []
    for i in range(len(w) - 1):
        layers.append(nn.Linear(w[i], w[i + 1], backend=backend, dtype=dtype))
        if i < len(w) - 2:
            layers.append(ACTS[arch["acts"][i]]())
    return nn.Sequential(*layers)


def inputs(arch):
    rng = np.random.default_rng(arch["seed"])
    return rng.standard_normal((arch["batch"], arch["widths"][0]))


@settings(max_examples=12, **SETTINGS)
@given(arch=archs)
def test_random_mlp_passes_gradcheck(arch):
    model = build(arch, "numpy", "float64")
    # the model's own layers, with its parameters replaced by leaves gradcheck can perturb
    leaves = [xpnn.tensor(p.array.copy(), dtype="float64", requires_grad=True)
              for p in model.parameters()]
    x = xpnn.tensor(inputs(arch), dtype="float64", requires_grad=True)

    def forward(h, *ps):
        i = 0
        for layer in model:
            if isinstance(layer, nn.Linear):
                h = F.linear(h, ps[i], ps[i + 1])
                i += 2
            else:
                h = layer(h)
        return h
    assert forward(x, *leaves).shape == (arch["batch"], arch["widths"][-1])
    assert xpnn.gradcheck(forward, x, *leaves)


@settings(max_examples=10, **SETTINGS)
@given(arch=archs)
def test_random_mlp_agrees_across_backends(arch):
    x = inputs(arch).astype(np.float32)
    results = {}
    for backend in BACKENDS:
        model = build(arch, backend, "float32")
        xt = xpnn.tensor(x, backend=backend, requires_grad=True)
        out = model(xt)
        w = np.linspace(-1, 1, out.numel()).reshape(out.shape).astype(np.float32)
        (out * xpnn.tensor(w, backend=backend)).sum().backward()
        results[backend] = [out.numpy(), xpnn.to_numpy(xt.grad)] + \
            [xpnn.to_numpy(p.grad) for p in model.parameters()]
    ref = results["numpy"]
    for backend, got in results.items():
        for a, b in zip(got, ref):
            assert a.dtype == np.float32 and a.shape == b.shape
            # float32 sums of <= 5 terms through <= 3 layers: well inside 100 eps
            np.testing.assert_allclose(a, b, rtol=100 * EPS32, atol=100 * EPS32,
                                       err_msg=backend)


# -- corrupt checkpoints -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """A valid checkpoint and the weights it holds."""
    xpnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    path = tmp_path_factory.mktemp("ckpt") / "c.safetensors"
    xpnn.save_checkpoint(path, model, epoch=1, step=5, extra={"loss": 0.25})
    saved = {k: np.array(v) for k, v in model.state_dict().items()}
    return path.read_bytes(), saved, path.parent


def fresh_model():
    xpnn.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def check_load(blob, folder, saved):
    """Loading ``blob`` either raises CheckpointError leaving the model as it was, or
    loads exactly the saved weights; never anything else."""
    path = folder / "mutated.safetensors"
    path.write_bytes(blob)
    model = fresh_model()
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    rng_before = xpnn.get_rng_state()["host"]
    try:
        info = xpnn.load_checkpoint(path, model)
    except CheckpointError as e:
        assert str(path) in str(e)
        after = {k: np.array(v) for k, v in model.state_dict().items()}
        assert all(np.array_equal(after[k], before[k]) for k in before)
        assert xpnn.get_rng_state()["host"] == rng_before
        return False
    assert info["epoch"] == 1 and info["step"] == 5 and info["extra"] == {"loss": 0.25}
    assert all(np.array_equal(np.array(v), saved[k]) for k, v in model.state_dict().items())
    return True


@settings(max_examples=60, **SETTINGS)
@given(blob=st.binary(max_size=300))
def test_random_bytes_raise_clean_error(valid, blob):
    _, saved, folder = valid
    assert not check_load(blob, folder, saved)


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_truncations_raise_clean_error(valid, data):
    blob, saved, folder = valid
    n = data.draw(st.integers(0, len(blob) - 1))
    assert not check_load(blob[:n], folder, saved)


@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_byte_flips_never_load_wrong_values(valid, data):
    blob, saved, folder = valid
    mutated = bytearray(blob)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(blob) - 1))
        mutated[i] = data.draw(st.integers(0, 255).filter(lambda b, i=i: b != blob[i]))
    check_load(bytes(mutated), folder, saved)


@settings(max_examples=40, **SETTINGS)
@given(body=st.binary(min_size=0, max_size=200), claimed=st.integers(0, 300))
def test_random_header_after_a_plausible_length(valid, body, claimed):
    _, saved, folder = valid
    blob = claimed.to_bytes(8, "little") + b"{" + body
    assert not check_load(blob, folder, saved)
