"""Checks found while writing the round-21b tutorial programs (tests/pytorch_programs/
tutorials/dino_self_distillation.py, retinanet_focal.py, speculative_decoding.py,
ordinal_regression_coral.py, tabnet_sparsemax.py).

* ``copy.deepcopy`` (and pickling) of a model holding an ``nn.ModuleList`` built from a
  generator expression, ``nn.ModuleList(Block() for _ in range(n))`` as DINO's and many
  ViTs' code writes it, raised ``TypeError: cannot pickle 'generator' object``: every
  Module keeps its constructor arguments as a recipe (for whole-module saves), and the
  ModuleList's recipe held the spent generator. The recipe now keeps an iterator argument
  as a ``SpentIterator`` naming its kind (xpnn/nn/module.py, ``_recipe_value``): containers,
  rebuilt from their items, never read it; a module whose rebuild would need it refuses a
  whole-module save with the usual "cannot record how to rebuild" error.
"""
import copy
import io
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402


def _tower(lib):
    class Tower(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = lib.nn.ModuleList(lib.nn.Linear(4, 4) for _ in range(3))
            self.extra = lib.nn.ModuleDict((f"h{i}", lib.nn.Linear(4, 2)) for i in range(2))
            self.scales = lib.nn.ParameterList(lib.nn.Parameter(lib.ones(4)) for _ in range(2))

        def forward(self, x):
            for block, s in zip(self.blocks, [*self.scales, self.scales[0]]):
                x = lib.relu(block(x)) * s
            return self.extra["h0"](x) + self.extra["h1"](x)
    return Tower


XTower = _tower(xpnn)
XTower.__qualname__ = "XTower"   # module level: pickle and whole-module saves find it


def test_deepcopy_of_containers_built_from_generators(backend):
    """deepcopy of a model whose ModuleList / ModuleDict / ParameterList were built from
    generator expressions: the copy is independent and computes what the original (and
    PyTorch's, with the same weights) computes."""
    x_np = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    tm = _tower(torch)()
    xm = _tower(xpnn)()
    xm.load_state_dict({k: xpnn.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    want = tm(torch.tensor(x_np)).detach().numpy()
    twin = copy.deepcopy(xm)
    got = twin(xpnn.tensor(x_np))
    np.testing.assert_allclose(to_np(got.detach()), want, rtol=1e-5, atol=1e-6)
    assert tuple(got.shape) == want.shape and str(got.dtype).endswith("float32")
    with xpnn.no_grad():
        twin.blocks[0].weight.add_(1.0)
    np.testing.assert_allclose(to_np(xm(xpnn.tensor(x_np)).detach()), want, rtol=1e-5,
                               atol=1e-6)
    assert len(twin.blocks) == 3 and list(twin.extra.keys()) == ["h0", "h1"]


def test_pickle_and_whole_module_save_of_generator_built_list():
    """The same model pickles, and saves and loads whole through xpnn.save / xpnn.load."""
    xm = XTower()
    x = xpnn.tensor(np.ones((1, 4), np.float32))
    want = to_np(xm(x).detach())
    again = pickle.loads(pickle.dumps(xm))
    np.testing.assert_allclose(to_np(again(x).detach()), want, rtol=1e-6)
    buf = io.BytesIO()
    xpnn.save(xm, buf)
    buf.seek(0)
    loaded = xpnn.load(buf, weights_only=False)
    np.testing.assert_allclose(to_np(loaded(x).detach()), want, rtol=1e-6)


class _Pairs(xpnn.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = xpnn.nn.ModuleList(xpnn.nn.Linear(a, b) for a, b in sizes)


def test_a_spent_iterator_argument_copies_but_does_not_save():
    """A user module given an iterator (zip) copies; a whole-module save cannot rebuild it
    from a spent iterator and says so (its state_dict saves as ever)."""
    m = _Pairs(zip([2, 3], [3, 1]))
    twin = copy.deepcopy(m)
    assert [tuple(layer.weight.shape) for layer in twin.layers] == [(3, 2), (1, 3)]
    with pytest.raises(TypeError, match="save: cannot record how to rebuild"):
        xpnn.save(m, io.BytesIO())
    xpnn.save(m.state_dict(), io.BytesIO())
