"""No host syncs in a training step: counted on array-api-strict's "device1".

device1 arrays refuse implicit conversion to NumPy, like CuPy arrays; every explicit way back
to the host goes through xpnn.backend.to_numpy or one of the array's conversion methods.
Both are instrumented, and a step of each model family (forward, backward, optimizer step)
must make none of them; a fit epoch reads the host only at its sync_every points.
"""
import numpy as np
import pytest

import xpnn
import xpnn.nn as nn
import xpnn.nn.functional as F
from xpnn import backend as B
from xpnn import optim

strict = pytest.importorskip("array_api_strict")
DEVICE = "device1"
CONVERSIONS = ("__bool__", "__float__", "__int__", "__index__", "__array__", "__dlpack__",
               "__complex__")


@pytest.fixture
def transfers(monkeypatch):
    """A list that grows by one entry per device-to-host read of a device1 array."""
    seen = []
    Array = type(strict.asarray(0))
    for name in CONVERSIONS:
        orig = getattr(Array, name, None)
        if orig is None:
            continue

        def counted(self, *args, _orig=orig, _name=name, **kwargs):
            if str(self.device).endswith(f"'{DEVICE}')"):
                seen.append(_name)
            return _orig(self, *args, **kwargs)
        monkeypatch.setattr(Array, name, counted)
    to_numpy = B.to_numpy

    def counted_to_numpy(arr):
        if B.is_array(arr) and B.backend_of(arr).name == "array_api_strict" and \
                not B.backend_of(arr).on_host:
            seen.append("to_numpy")
        return to_numpy(arr)
    monkeypatch.setattr(B, "to_numpy", counted_to_numpy)
    xpnn.set_default_backend("array_api_strict", DEVICE)
    xpnn.manual_seed(0)
    yield seen
    xpnn.set_default_backend("numpy")


def _on_device(arr):
    return xpnn.tensor(arr, backend="array_api_strict", device=DEVICE)


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)
        self.head = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x):
        h = self.pool(F.relu(self.bn(self.conv(x))))
        h = F.dropout(self.avg(h), 0.2, self.training)
        return self.head(F.flatten(h, 1))


class TinyLM(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        if kind == "lstm":
            self.body = nn.LSTM(8, 8, batch_first=True)
        else:
            self.body = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True), 2)
        self.kind = kind
        self.head = nn.Linear(8, 11)

    def forward(self, ids):
        h = self.emb(ids)
        h = self.body(h)[0] if self.kind == "lstm" else self.body(h)
        return self.head(h)


def _models(rng):
    """(name, model, inputs, targets) for each model family, data on device1."""
    mlp = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3))
    ids = _on_device(rng.integers(0, 11, (2, 6)))
    return [
        ("mlp", mlp, _on_device(rng.standard_normal((4, 5)).astype(np.float32)),
         _on_device(rng.integers(0, 3, 4))),
        ("cnn", TinyCNN(), _on_device(rng.standard_normal((2, 1, 8, 8)).astype(np.float32)),
         _on_device(rng.integers(0, 3, 2))),
        ("lstm", TinyLM("lstm"), ids, _on_device(rng.integers(0, 11, (2, 6)))),
        ("transformer", TinyLM("transformer"), ids, _on_device(rng.integers(0, 11, (2, 6)))),
    ]


@pytest.mark.parametrize("which", ["mlp", "cnn", "lstm", "transformer"])
def test_training_step_makes_no_host_transfer(which, transfers, rng):
    name, model, x, y = next(m for m in _models(rng) if m[0] == which)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):  # the second step runs with the optimizer's state in place
        out = model(x)
        loss = F.cross_entropy(F.reshape(out, (-1, out.shape[-1])), F.reshape(y, (-1,)))
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    assert transfers == [], f"{name}: host reads {transfers}"
    assert np.isfinite(loss.item())  # the one read the test itself makes


def test_fit_reads_the_host_only_at_sync_points(transfers, rng):
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    loader = xpnn.data.DataLoader(X, y, batch_size=8, shuffle=True,
                                  backend="array_api_strict", device=DEVICE)
    opt = optim.SGD(model.parameters(), lr=0.1)
    xpnn.fit(model, loader, loss=F.cross_entropy, optimizer=opt, epochs=1, progress=False,
             sync_every=4, metrics=())
    # 8 steps, a read every 4: the losses and the gradient sums, two transfers per read
    assert transfers == ["to_numpy"] * 4, transfers
