"""xpnn.export (torch.export): export, ExportedProgram.module() against the eager model,
static and dynamic shapes, save/load without the model's class, gradients, and PyTorch 2.13's
export on the same models where the behaviour is observable (errors, names, keys)."""
import io
import os

import numpy as np
import pytest

import xpnn
from xpnn import nn
from xpnn.export import Dim, export

torch = pytest.importorskip("torch")

TOL = 1e-5  # float32 models: ~100 eps of float32 on outputs of size ~1


def _classes(m):
    """The test models, on ``m`` (xpnn.nn or torch.nn)."""

    class MLP(m.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.Linear(4, 8)
            self.out = m.Linear(8, 3)

        def forward(self, x):
            return self.out(self.fc(x).relu())


    class CNN(m.Module):
        def __init__(self):
            super().__init__()
            self.conv = m.Conv2d(1, 4, 3, padding=1)
            self.bn = m.BatchNorm2d(4)
            self.fc = m.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            h = self.bn(self.conv(x)).relu()
            h = h.reshape(x.shape[0], -1)  # a size that follows the batch
            return self.fc(h)


    class Seq(m.Module):
        def __init__(self):
            super().__init__()
            self.lstm = m.LSTM(3, 5, batch_first=True)
            self.head = m.Linear(5, 2)

        def forward(self, x):
            y, (h, c) = self.lstm(x)
            return self.head(y[:, -1])


    class Encoder(m.Module):
        def __init__(self):
            super().__init__()
            self.layer = m.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1,
                                                   batch_first=True)

        def forward(self, x):
            return self.layer(x)


    class Heads(m.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.Linear(4, 3)

        def forward(self, x):
            h = self.fc(x)
            return {"logits": h, "probs": h.softmax(-1)}

    return {"mlp": MLP, "cnn": CNN, "lstm": Seq, "encoder": Encoder, "dict": Heads}


OURS, THEIRS = _classes(nn), _classes(torch.nn)
MLP, CNN, Encoder = OURS["mlp"], OURS["cnn"], OURS["encoder"]
SHAPES = {"mlp": (6, 4), "cnn": (6, 1, 4, 4), "lstm": (6, 7, 3), "encoder": (6, 5, 8),
          "dict": (6, 4)}
CASES = {k: (OURS[k], SHAPES[k]) for k in SHAPES}


def _flat(out):
    if isinstance(out, dict):
        return [v for _, v in sorted(out.items())]
    return [out]


def _host(t):
    return xpnn.backend.to_numpy(t.detach().array)


@pytest.mark.parametrize("case", sorted(CASES))
def test_module_matches_eager(backend, case):
    cls, shape = CASES[case]
    model = cls().eval()
    x = xpnn.randn(*shape)
    ep = export(model, (x,))
    for got, want in zip(_flat(ep.module()(x)), _flat(model(x))):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(_host(got), _host(want), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("case", sorted(CASES))
def test_save_load_roundtrip_and_dynamic_batch(backend, case, tmp_path):
    cls, shape = CASES[case]
    model = cls().eval()
    x = xpnn.randn(*shape)
    ep = export(model, (x,), dynamic_shapes={"x": {0: Dim("batch", min=2, max=64)}})
    path = tmp_path / "model.pt2"
    xpnn.export.save(ep, path)
    loaded = xpnn.export.load(path).module()  # no class of the model needed
    assert type(loaded).__name__ == "GraphModule"
    assert sorted(loaded.state_dict()) == sorted(model.state_dict())
    y = xpnn.randn(9, *shape[1:])
    for got, want in zip(_flat(loaded(y)), _flat(model(y))):
        assert got.shape == want.shape
        np.testing.assert_allclose(_host(got), _host(want), rtol=TOL, atol=TOL)
    with pytest.raises(AssertionError, match=r"x.size\(\)\[0\] <= 64"):
        loaded(xpnn.randn(65, *shape[1:]))


def test_static_shape_error_matches_torch():
    model, tmodel = MLP().eval(), THEIRS["mlp"]().eval()
    ep = export(model, (xpnn.randn(8, 4),))
    tep = torch.export.export(tmodel, (torch.randn(8, 4),))
    with pytest.raises(AssertionError) as theirs:
        tep.module()(torch.randn(5, 4))
    with pytest.raises(AssertionError) as ours:
        ep.module()(xpnn.randn(5, 4))
    assert str(ours.value) == str(theirs.value) == "Guard failed: x.size()[0] == 8"
    with pytest.raises(RuntimeError, match="Unable to call ExportedProgram directly"):
        tep(torch.randn(8, 4))
    with pytest.raises(RuntimeError, match="Unable to call ExportedProgram directly"):
        ep(xpnn.randn(8, 4))


@pytest.mark.parametrize("case", ["mlp", "cnn", "dict"])
def test_signature_and_state_dict_match_torch(case):
    cls, shape = CASES[case]
    ep = export(cls().eval(), (xpnn.randn(*shape),))
    tep = torch.export.export(THEIRS[case]().eval(), (torch.randn(*shape),))
    ours, theirs = ep.graph_signature, tep.graph_signature
    assert [s.arg.name for s in ours.input_specs] == [s.arg.name for s in theirs.input_specs]
    assert [s.kind.name for s in ours.input_specs] == [s.kind.name for s in theirs.input_specs]
    assert [s.target for s in ours.input_specs] == [s.target for s in theirs.input_specs]
    assert ours.user_inputs == theirs.user_inputs == ("x",)
    assert list(ep.state_dict) == list(tep.state_dict)
    assert type(ep.run_decompositions()).__name__ == "ExportedProgram"
    text = str(ep)
    assert text.startswith("ExportedProgram:\n    class GraphModule(torch.nn.Module):")
    assert "Graph signature:" in text and "USER_INPUT" in text


def test_dynamic_range_checked_at_export_as_torch():
    x = xpnn.randn(8, 4)
    with pytest.raises(torch.fx.experimental.symbolic_shapes.ConstraintViolationError):
        torch.export.export(THEIRS["mlp"](), (torch.randn(8, 4),),
                            dynamic_shapes={"x": {0: torch.export.Dim("b", min=10)}})
    with pytest.raises(RuntimeError, match=r"8 not in range \[10, int_oo\]"):
        export(MLP(), (x,), dynamic_shapes={"x": {0: Dim("b", min=10)}})
    with pytest.raises(ValueError, match="dynamic_shapes names 'y'"):
        export(MLP(), (x,), dynamic_shapes={"y": {0: Dim("b")}})
    ep = export(MLP(), (x,), dynamic_shapes=({0: Dim("b")},))  # the tuple form
    assert ep.module()(xpnn.randn(3, 4)).shape == (3, 3)


def test_gradients_match_eager(host_backend):
    model = CNN().eval()
    x = xpnn.randn(3, 1, 4, 4)
    gm = export(model, (x,)).module()
    gm(x).square().sum().backward()
    model(x).square().sum().backward()
    mine = dict(gm.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(_host(mine[name].grad), _host(p.grad), rtol=1e-4,
                                   atol=1e-5)


def test_gradcheck_float64_through_module():
    model = MLP().double().eval()
    gm = export(model, (xpnn.randn(2, 4, dtype=xpnn.float64),)).module()
    x = xpnn.randn(2, 4, dtype=xpnn.float64, requires_grad=True)
    assert xpnn.autograd.gradcheck(lambda t: gm(t), (x,), eps=1e-6, atol=1e-5)


def test_batchnorm_train_mode_refused_and_dropout_kept_random():
    with pytest.raises(NotImplementedError, match="running statistics.*model.eval"):
        export(CNN().train(), (xpnn.randn(6, 1, 4, 4),))
    model = Encoder().train()  # dropout in train mode: random at each call, as torch's
    x = xpnn.randn(2, 5, 8)
    gm = export(model, (x,)).module()
    assert gm.training
    assert not np.allclose(_host(gm(x)), _host(gm(x)))


def test_unexportable_forward_refused():
    class HostMath(nn.Module):
        def forward(self, x):  # a value computed outside xpnn's ops
            return x * float(np.abs(xpnn.backend.to_numpy(x.array)).sum())

    with pytest.raises(RuntimeError, match="changed with the input values"):
        export(HostMath(), (xpnn.randn(3, 4),))

    class Branch(nn.Module):
        def forward(self, x):
            return x.relu() if float(x.sum()) > 0 else x.sigmoid()

    x = xpnn.ones(3, 4)
    with pytest.raises(RuntimeError, match="different ops"):
        export(Branch(), (x,))  # the traces at other values take the other branch


def test_save_refuses_unstorable_and_is_atomic(tmp_path):
    ep = export(MLP().eval(), (xpnn.randn(2, 4),))
    path = tmp_path / "m.pt2"
    xpnn.export.save(ep, path)
    before = path.read_bytes()
    ep._graph.ops[0].params["bad"] = object()
    with pytest.raises(TypeError, match="cannot be saved as JSON"):
        xpnn.export.save(ep, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.pt2"]
    buf = io.BytesIO(b"not a zip")
    with pytest.raises(RuntimeError, match="not a program written by"):
        xpnn.export.load(buf)


def test_a_forward_refusing_another_size_cannot_have_it_dynamic():
    """Every re-trace failing (the forward takes one size only) is reported with the first
    failure, as onnx.export reports it."""
    class OnlyFour(xpnn.nn.Module):
        def forward(self, x):
            if x.shape[0] != 4:
                raise ValueError("only 4 rows")
            return x * 2
    with pytest.raises(RuntimeError, match="traced again with Dim 'n' one longer.*only 4 rows"):
        xpnn.export.export(OnlyFour(), (xpnn.randn(4, 3),),
                           dynamic_shapes={"x": {0: xpnn.export.Dim("n")}})
