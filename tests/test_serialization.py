"""xpnn.save / xpnn.load as PyTorch programs use them, without pickle: tensors, state dicts,
optimizer state and checkpoint dicts round-trip exactly (key types included); whole modules
round-trip as recipes (a structure changed after construction too) and are rebuilt only
from xpnn's classes or allowed ones; map_location; file objects; PyTorch's module paths;
safetensors/PyTorch interoperability; unsupported PyTorch arguments and hostile files."""
import io
import json
import math
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn import nn
from xpnn.io import CheckpointError, UnsafeGlobalError
from xpnn.io import format as fmt
from xpnn.serialization import add_safe_globals, clear_safe_globals, safe_globals

EPS32 = float(np.finfo(np.float32).eps)


def round_trip(obj, **load_kw):
    f = io.BytesIO()
    assert xpnn.save(obj, f) is None
    f.seek(0)
    return xpnn.load(f, **load_kw)


def mlp(**kw):
    return nn.Sequential(nn.Linear(4, 8, **kw), nn.Tanh(), nn.Linear(8, 3, **kw))


def same_values(a, b):
    assert list(a) == list(b)
    for k in a:
        assert np.array_equal(to_np(a[k]), to_np(b[k])), k


# -- state dicts, optimizer state, checkpoints -------------------------------------------------
def test_state_dict_round_trips_on_every_backend(tmp_path, backend):
    model = mlp()
    path = xpnn.save(model.state_dict(), tmp_path / "w.safetensors")
    sd = xpnn.load(path)
    assert isinstance(sd, dict) and all(isinstance(v, xpnn.Tensor) for v in sd.values())
    home = next(model.parameters())._be
    assert {v._be for v in sd.values()} == {home}  # back where they were saved from
    same_values(sd, model.state_dict())
    other = mlp()
    other.load_state_dict(xpnn.load(path))
    same_values(other.state_dict(), model.state_dict())


def test_tensors_scalars_and_nested_values_round_trip_exactly(backend):
    t = xpnn.randn(2, 3, requires_grad=True)
    obj = {"t": t, "again": t, "raw": xpnn.arange(4).array, "p": nn.Parameter(xpnn.ones(2)),
           "ints": {0: "a", 1: (1, 2.5, None)}, "tuple_key": {(1, "x"): True},
           "od": OrderedDict(b=1, a=2), "$dollar": [math.inf, -math.inf],
           "np": [np.float32(2.5), np.int64(-7), np.bool_(True)], "big": 2 ** 70,
           "dtype": xpnn.float64, "device": xpnn.device("cuda:1"), "fn": F.gelu,
           "empty": [[], {}, ()], "flags": [True, 1, 1.0]}
    back = round_trip(obj)
    assert back["again"] is back["t"] and back["t"].requires_grad  # one tensor, stored once
    assert back["t"]._be is t._be and np.array_equal(to_np(back["t"]), to_np(t))
    assert xpnn.backend.is_array(back["raw"]) and not isinstance(back["raw"], xpnn.Tensor)
    assert isinstance(back["p"], nn.Parameter)
    assert back["ints"] == {0: "a", 1: (1, 2.5, None)} and back["tuple_key"] == {(1, "x"): True}
    assert type(back["od"]) is OrderedDict and list(back["od"]) == ["b", "a"]
    assert back["$dollar"] == [math.inf, -math.inf] and back["big"] == 2 ** 70
    assert [type(v) for v in back["np"]] == [np.float32, np.int64, np.bool_]
    assert back["dtype"] == xpnn.float64 and str(back["device"]) == "cuda:1"
    assert back["fn"] is F.gelu and back["empty"] == [[], {}, ()]
    assert [type(v) for v in back["flags"]] == [bool, int, float]
    assert math.isnan(round_trip([math.nan])[0])
    single = round_trip(xpnn.tensor([1.0, 2.0]))
    assert isinstance(single, xpnn.Tensor) and to_np(single).tolist() == [1.0, 2.0]


def test_optimizer_and_checkpoint_dicts_round_trip_exactly(tmp_path, backend, rng):
    model = mlp()
    opt = xpnn.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))
    X = xpnn.tensor(rng.standard_normal((6, 4)).astype(np.float32))

    def step():
        opt.zero_grad()
        F.mse_loss(model(X), xpnn.zeros(6, 3)).backward()
        opt.step()
    step()
    ckpt = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict()}
    back = xpnn.load(xpnn.save(ckpt, tmp_path / "ckpt.safetensors"))
    assert back["epoch"] == 3
    saved, got = ckpt["optimizer"], back["optimizer"]
    assert got["param_groups"] == saved["param_groups"]  # floats, bools, lists, tuples
    assert got["param_groups"][0]["betas"] == (0.8, 0.99)
    assert list(got["state"]) == list(saved["state"]) == [0, 1, 2, 3]  # ints stay ints
    for i, slots in saved["state"].items():
        assert list(got["state"][i]) == list(slots)
        for k, v in slots.items():
            if isinstance(v, (int, float)):
                assert type(got["state"][i][k]) is type(v) and got["state"][i][k] == v
            else:
                assert np.array_equal(to_np(got["state"][i][k]), to_np(v)), (i, k)
    model2 = mlp()
    opt2 = xpnn.optim.Adam(model2.parameters(), lr=1.0)
    model2.load_state_dict(back["model"])
    opt2.load_state_dict(back["optimizer"])
    assert opt2.param_groups[0]["lr"] == 1e-3 and opt2.param_groups[0]["betas"] == (0.8, 0.99)


def test_resumed_adam_continues_the_same_trajectory(rng):
    X = xpnn.tensor(rng.standard_normal((6, 4)).astype(np.float32))

    def step(model, opt):
        opt.zero_grad()
        F.mse_loss(model(X), xpnn.zeros(6, 3)).backward()
        opt.step()
    xpnn.manual_seed(0)
    a = mlp()
    oa = xpnn.optim.Adam(a.parameters(), lr=1e-2)
    step(a, oa)
    back = round_trip({"model": a.state_dict(), "optimizer": oa.state_dict()})
    xpnn.manual_seed(5)
    b = mlp()
    ob = xpnn.optim.Adam(b.parameters(), lr=1e-2)
    b.load_state_dict(back["model"])
    ob.load_state_dict(back["optimizer"])
    for _ in range(2):
        step(a, oa), step(b, ob)
    same_values(a.state_dict(), b.state_dict())  # bit for bit on NumPy


# -- whole modules -----------------------------------------------------------------------------
def outputs_match(a, b, x):
    a.eval(), b.eval()
    ya, yb = a(x), b(x)
    ya, yb = (ya[0], yb[0]) if isinstance(ya, tuple) else (ya, yb)
    np.testing.assert_array_equal(to_np(ya), to_np(yb))


@pytest.mark.parametrize("make, x", [
    (lambda: mlp(), lambda: xpnn.randn(2, 4)),
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                           nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3)),
     lambda: xpnn.randn(2, 1, 4, 4)),
    (lambda: nn.LSTM(4, 6, num_layers=2, batch_first=True), lambda: xpnn.randn(2, 3, 4)),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True,
                                                              activation=F.gelu),
                                   2, norm=nn.LayerNorm(8)), lambda: xpnn.randn(2, 5, 8)),
    (lambda: nn.Embedding.from_pretrained(xpnn.randn(10, 4), freeze=True),
     lambda: xpnn.tensor([1, 2, 9])),
], ids=["mlp", "cnn", "lstm", "transformer", "embedding"])
def test_xpnn_modules_round_trip(tmp_path, make, x):
    xpnn.manual_seed(0)
    model = make()
    model.train()
    model(x())  # BatchNorm's running statistics move off their initial values
    path = xpnn.save(model, tmp_path / "m.safetensors")
    back = xpnn.load(path)
    assert type(back) is type(model) and repr(back) == repr(model)
    same_values(back.state_dict(), model.state_dict())
    assert [p.requires_grad for p in back.parameters()] == \
        [p.requires_grad for p in model.parameters()]
    outputs_match(model, back, x())


class Scaled(nn.Module):
    def __init__(self, scale=2.0):
        super().__init__()
        self.scale, self.lin, self.tags = scale, nn.Linear(2, 2), ("a", 1)

    def forward(self, x):
        return self.lin(x) * self.scale


def test_plain_attributes_set_after_construction_come_back(tmp_path):
    """dropout.p, bn.momentum/eps, a custom module's scale changed after construction come
    back with the module, as with PyTorch's pickled modules (they came back as the
    constructor set them: the output changed silently)."""
    model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2), Scaled())
    model[0].p, model[1].momentum, model[1].eps, model[2].scale = 0.1, None, 1e-3, 5.0
    model[2].tags = ("b", float("inf"), None)
    back = xpnn.load(xpnn.save(model, tmp_path / "m.safetensors"), weights_only=False)
    assert repr(back) == repr(model)
    assert (back[0].p, back[1].momentum, back[1].eps, back[2].scale) == (0.1, None, 1e-3, 5.0)
    assert back[2].tags == ("b", float("inf"), None)
    model.eval(), back.eval()
    outputs_match(model, back, xpnn.randn(3, 2))


def test_containers_and_tensor_arguments_store_each_tensor_once(tmp_path):
    st_np = pytest.importorskip("safetensors.numpy")
    model = nn.ModuleDict({
        "params": nn.ParameterList([nn.Parameter(xpnn.randn(2)), nn.Parameter(xpnn.randn(3))]),
        "gains": nn.ParameterDict({"a": nn.Parameter(xpnn.ones(2))}),
        "loss": nn.CrossEntropyLoss(weight=xpnn.tensor([1.0, 2.0, 3.0])),
        "blocks": nn.ModuleList(nn.Linear(2, 2) for _ in range(2))})  # a generator argument
    path = xpnn.save(model, tmp_path / "m.safetensors")
    assert list(st_np.load_file(path)) == list(model.state_dict())  # no copies for arguments
    back = xpnn.load(path)
    assert repr(back) == repr(model)
    same_values(back.state_dict(), model.state_dict())


def test_loading_a_module_leaves_the_random_streams_alone(tmp_path):
    path = xpnn.save(mlp(), tmp_path / "m.safetensors")
    xpnn.manual_seed(3)
    want = xpnn.randn(3).numpy()
    xpnn.manual_seed(3)
    xpnn.load(path)  # rebuilding draws initial weights, then puts the generator back
    assert np.array_equal(xpnn.randn(3).numpy(), want)


class TiedNet(nn.Module):
    def __init__(self, vocab, dim, hidden=(8,), act="relu"):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.body = nn.Sequential(nn.Linear(dim, hidden[0]), nn.ReLU())
        self.head = nn.Linear(hidden[0], vocab, bias=False)
        self.act = act

    def forward(self, ids):
        return self.head(self.body(self.emb(ids)))


def test_a_structure_changed_after_construction_round_trips(tmp_path):
    model = TiedNet(10, 8)
    model.head.weight = model.emb.weight                   # tie after construction
    model.body.append(nn.Linear(8, 8))                     # grow a container
    setattr(model.body, "1", nn.Tanh())                    # swap a layer
    model.extra = nn.Linear(8, 8)                          # a new submodule
    model.body[0].bias = None                              # drop a parameter
    model.register_buffer("seen", xpnn.tensor([3]))        # a new buffer
    model.emb.requires_grad_(False)                        # freeze
    model.double()                                         # another dtype
    model.eval()
    path = xpnn.save(model, tmp_path / "m.safetensors")
    with safe_globals([TiedNet]):
        back = xpnn.load(path)
    assert repr(back) == repr(model) and list(back.state_dict()) == list(model.state_dict())
    assert back.head.weight is back.emb.weight and back.body[0].bias is None
    assert not back.emb.weight.requires_grad and back.body[2].weight.requires_grad
    assert back.emb.weight.dtype == xpnn.float64 and not back.training
    assert back.seen.dtype == xpnn.int64 and to_np(back.seen).tolist() == [3]
    outputs_match(model, back, xpnn.tensor([1, 2, 3]))


def test_user_classes_load_only_when_allowed(tmp_path):
    path = xpnn.save(TiedNet(10, 8, hidden=[16], act="gelu"), tmp_path / "m.safetensors")
    for weights_only in (None, True):
        with pytest.raises(UnsafeGlobalError, match=r"'test_serialization.TiedNet'.*"
                           r"add_safe_globals\(\[TiedNet\]\).*weights_only=False") as e:
            xpnn.load(path, weights_only=weights_only)
    assert isinstance(e.value, pickle.UnpicklingError) and isinstance(e.value, CheckpointError)
    # PyTorch's "I trust this file": Module classes of already imported modules
    assert isinstance(xpnn.load(path, weights_only=False), TiedNet)
    with safe_globals([TiedNet]):
        back = xpnn.load(path)
    assert back.act == "gelu" and back.body[0].out_features == 16
    with pytest.raises(UnsafeGlobalError):
        xpnn.load(path)  # the context manager's allowance ended with the block
    try:
        add_safe_globals([(TiedNet, "test_serialization.TiedNet")])
        assert isinstance(xpnn.load(path), TiedNet)
        assert xpnn.serialization.get_safe_globals() == [(TiedNet, "test_serialization.TiedNet")]
    finally:
        clear_safe_globals()
    with pytest.raises(TypeError, match="not a class or a function"):
        add_safe_globals([3])


def test_unrecordable_arguments_fail_clearly_at_save(tmp_path):
    with pytest.raises(TypeError, match=r"cannot record how to rebuild TiedNet 'net': its "
                       r"argument 'act' is the function '.*<lambda>'.*model.state_dict\(\)"):
        xpnn.save({"net": TiedNet(10, 8, act=lambda x: x)}, tmp_path / "m.safetensors")

    def local():
        class Local(nn.Module):
            def forward(self, x):
                return x
        return Local()
    with pytest.raises(TypeError, match="the class of the saved Local.*local definitions"):
        xpnn.save(local(), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_modules_inside_objects_and_shared_between_them(tmp_path):
    model = mlp()
    ema = model  # the same object twice
    back = round_trip({"model": model, "ema": ema, "epoch": 2, "head": model[2]})
    assert back["ema"] is back["model"] and back["head"] is back["model"][2]
    same_values(back["model"].state_dict(), model.state_dict())


def test_module_file_is_a_plain_state_dict_for_torch_and_the_older_load(tmp_path, rng):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    model = mlp()
    path = xpnn.save(model, tmp_path / "m.safetensors")
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    ref.load_state_dict(st_torch.load_file(path))  # strict: exactly the state dict's keys
    x = rng.standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(ref(torch.from_numpy(x)).numpy(),
                                   to_np(model(xpnn.tensor(x))), rtol=0, atol=32 * EPS32)
    into = mlp()
    assert xpnn.load(into, path) is into  # the older form loads the weights into a model
    same_values(into.state_dict(), model.state_dict())


# -- interoperability --------------------------------------------------------------------------
def test_safetensors_reads_tensor_files_and_torch_files_load(tmp_path):
    torch = pytest.importorskip("torch")
    st_np = pytest.importorskip("safetensors.numpy")
    st_torch = pytest.importorskip("safetensors.torch")
    sd = mlp().state_dict()
    path = xpnn.save(sd, tmp_path / "w.safetensors")
    for got in (st_np.load_file(path), {k: v.numpy() for k, v in
                                         st_torch.load_file(path).items()}):
        assert list(got) == list(sd)
        same_values(got, sd)
    ref = torch.nn.Linear(3, 2)
    st_torch.save_file(ref.state_dict(), str(tmp_path / "t.safetensors"))
    loaded = xpnn.load(tmp_path / "t.safetensors")
    assert {v.backend for v in loaded.values()} == {"numpy"}
    ours = nn.Linear(3, 2)
    ours.load_state_dict(loaded)
    assert np.array_equal(to_np(ours.weight), ref.weight.detach().numpy())
    torch_pt = tmp_path / "m.pt"
    torch.save(ref.state_dict(), torch_pt)  # torch.save's own archive (tests/test_torch_zip.py)
    ours.load_state_dict(xpnn.load(torch_pt))
    assert np.array_equal(to_np(ours.bias), ref.bias.detach().numpy())


def test_map_location_places_tensors():
    pytest.importorskip("torch")
    sd = mlp(backend="torch").state_dict()
    strict = xpnn.get_backend("array_api_strict", "device1")
    cases = {None: "torch", "cpu": "torch", "numpy": "numpy", xpnn.device("cpu"): "torch",
             strict: "array_api_strict", (lambda t, loc: t): "numpy",
             (lambda t, loc: t.to("torch") if loc == "cpu" else None): "torch",
             "{'cpu': 'numpy'}": "numpy", "{'cuda:0': 'numpy'}": "torch"}
    for where, want in cases.items():
        where = eval(where) if isinstance(where, str) and where.startswith("{") else where
        got = round_trip(sd, map_location=where)
        assert {v.backend for v in got.values()} == {want}, where
    model = round_trip(mlp(backend="torch"), map_location="array_api_strict")
    assert {p.backend for p in model.parameters()} == {"array_api_strict"}
    model(xpnn.randn(2, 4, backend="array_api_strict"))
    moved = round_trip(mlp(), backend="torch")
    assert {p.backend for p in moved.parameters()} == {"torch"}
    with pytest.raises(TypeError, match="map_location must be"):
        round_trip(sd, map_location=3)


def test_pytorch_module_paths():
    from xpnn.nn.modules import (activation, batchnorm, container, conv, dropout, linear,
                                 loss, module, normalization, pooling, rnn, sparse,
                                 transformer)
    pairs = [(linear.Linear, nn.Linear), (rnn.LSTM, nn.LSTM), (sparse.Embedding, nn.Embedding),
             (dropout.Dropout, nn.Dropout), (conv.Conv2d, nn.Conv2d),
             (activation.ReLU, nn.ReLU), (loss.CrossEntropyLoss, nn.CrossEntropyLoss),
             (batchnorm.BatchNorm2d, nn.BatchNorm2d), (normalization.LayerNorm, nn.LayerNorm),
             (pooling.MaxPool2d, nn.MaxPool2d), (container.Sequential, nn.Sequential),
             (transformer.TransformerEncoderLayer, nn.TransformerEncoderLayer),
             (module.Module, nn.Module), (xpnn.nn.modules.Linear, nn.Linear),
             (activation.MultiheadAttention, nn.MultiheadAttention)]
    assert all(a is b for a, b in pairs)
    assert rnn.RNNBase.__name__ == "RNNBase" and "RNNBase" in rnn.__all__
    assert linear.LazyLinear is nn.LazyLinear
    assert pooling.MaxUnpool3d is nn.MaxUnpool3d
    assert pooling.FractionalMaxPool2d is nn.FractionalMaxPool2d
    with pytest.raises(AttributeError,
                       match="no attribute .LinearCrossEntropyLoss."):
        loss.LinearCrossEntropyLoss  # noqa: B018


# -- PyTorch arguments xpnn does not take; file objects ----------------------------------------
def test_unsupported_pytorch_arguments_are_named(tmp_path):
    f = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="save: pickle_module=.*not supported"):
        xpnn.save({}, f, pickle_module=pickle)
    with pytest.raises(TypeError, match="pickle_module.*pass metadata="):
        xpnn.save({}, f, {"note": "positional metadata"})
    with pytest.raises(NotImplementedError, match="pickle_protocol=4 is not supported"):
        xpnn.save({}, f, pickle_protocol=4)
    with pytest.raises(NotImplementedError, match="_use_new_zipfile_serialization"):
        xpnn.save({}, f, _use_new_zipfile_serialization=False)
    xpnn.save({"a": 1}, f, pickle_protocol=xpnn.serialization.DEFAULT_PROTOCOL)
    with pytest.raises(TypeError, match="load: pickle_module=.*not supported"):
        xpnn.load(f, None, pickle)
    with pytest.raises(TypeError, match=r"load: unexpected arguments \['encoding'\]"):
        xpnn.load(f, encoding="latin1")
    with pytest.warns(UserWarning, match="mmap=True maps nothing"):  # runs, read whole
        assert xpnn.load(f, mmap=True) == {"a": 1}
    with pytest.raises(TypeError, match="weights_only must be a bool"):
        xpnn.load(f, weights_only="yes")
    assert xpnn.load(f, mmap=False, weights_only=True) == {"a": 1}


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    xpnn.save({"x": xpnn.ones(2)}, buf, metadata={"format": "pt"})
    buf.seek(0)
    assert to_np(xpnn.load(buf)["x"]).tolist() == [1.0, 1.0]
    with open(tmp_path / "t.txt", "w") as text:
        with pytest.raises(TypeError, match="binary mode"):
            xpnn.save({"x": xpnn.ones(2)}, text)
    (tmp_path / "w.st").write_bytes(buf.getvalue())
    with open(tmp_path / "w.st") as text:
        with pytest.raises(TypeError, match="binary mode"):
            xpnn.load(text)
    assert xpnn.io.read_metadata(tmp_path / "w.st")["format"] == "pt"


# -- hostile or damaged files ------------------------------------------------------------------
def forged(tmp_path, tree, nodes=None, tensors=None):
    """A file with xpnn's metadata as an attacker writes it (valid digest included)."""
    meta = {"xpnn.version": "1", "xpnn.object": json.dumps(tree)}
    if nodes is not None:
        meta["xpnn.modules"] = json.dumps(nodes)
    path = tmp_path / "forged.safetensors"
    for chunk in [b"".join(bytes(c) for c in fmt.encode(tensors or {}, meta))]:
        path.write_bytes(chunk)
    return path


def node(cls, args=(), children=(), params=()):
    return {"class": cls, "args": list(args), "kwargs": {}, "children": list(children),
            "parameters": list(params), "buffers": [], "training": True}


def test_hostile_files_run_nothing(tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(nn.Linear, "__init__", lambda self, *a: built.append(a))
    cases = [
        ({"$module": 0, "state": {}}, [node("os.system", ["echo hi"])], "'os.system'"),
        ({"$module": 0, "state": {}}, [node("xpnn.nn.Linear", [1, 1]),
                                      node("builtins.eval", ["1"])], "'builtins.eval'"),
        ({"$global": "subprocess.run"}, None, "'subprocess.run'"),
        ({"$module": 0, "state": {}},
         [node("xpnn.nn.Linear", [{"$global": "posix.system"}])], "'posix.system'"),
        ({"$module": 0, "state": {}}, [node("not_imported_pkg.Net")], "'not_imported_pkg"),
    ]
    for tree, nodes, name in cases:
        for weights_only in (True, False):  # False trusts imported Module classes only
            with pytest.raises(UnsafeGlobalError, match=name):
                xpnn.load(forged(tmp_path, tree, nodes), weights_only=weights_only)
    import sys
    assert "not_imported_pkg" not in sys.modules
    assert built == []  # refused before any constructor ran
    monkeypatch.undo()
    for tree, nodes, message in [
        ({"$tensor": "missing"}, None, "referenced but absent"),
        ({"$module": 5, "state": {}}, [node("xpnn.nn.ReLU")], "not a node number"),
        ({"$module": 0, "state": {}}, [node("xpnn.nn.ReLU", children=[["a.b", None]])],
         "malformed entry"),
        ({"$module": 0, "state": {}}, [node("xpnn.nn.ReLU", children=[["forward", 0]])],
         "cannot hold a member named 'forward'"),
        ({"$module": 0, "state": {}}, [node("xpnn.nn.Linear", ["x", 2])],
         "rebuilding xpnn.nn.Linear"),
        ({"$scalar": 1, "dtype": "object"}, None, "malformed"),
        ({"$module": 0, "state": {}}, [node("xpnn.nn.ReLU", params=[["w", True]])],
         "whose weights are not in the file"),
    ]:
        with pytest.raises(CheckpointError, match=message):
            xpnn.load(forged(tmp_path, tree, nodes))


def test_tampered_metadata_fails_the_digest(tmp_path):
    path = xpnn.save({"lr": 0.1, "w": xpnn.ones(2)}, tmp_path / "w.safetensors")
    blob = bytearray(Path(path).read_bytes())
    i = blob.index(b"0.1")
    blob[i:i + 3] = b"0.9"  # same length: still a well-formed file
    Path(path).write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        xpnn.load(path)
