"""Checks of xpnn.distributed under a real launcher, run by tests/test_distributed.py as

    mpiexec -n 2 python tests/mpi/ddp_checks.py RESULTS.json [CHECKPOINT_DIR]

Every check runs on every rank. After each, the ranks exchange their outcome; rank 0
writes {check name: "ok" | "skip: why" | "rank R: traceback"} to RESULTS.json. One launch
runs them all, since starting MPI and importing torch costs more than the checks.
"""
import contextlib
import datetime
import importlib.util
import io
import json
import os
import sys
import time
import traceback

import numpy as np

import xpnn
import xpnn.distributed as dist
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.callbacks import CSVLogger, ModelCheckpoint
from xpnn.nn.parallel import DistributedDataParallel as DDP

CHECKS = {}
EPS32 = float(np.finfo(np.float32).eps)
# K=3 SGD steps with float32 sums split in two halves; measured: 7e-9 (LSTM) to 6e-8 (CNN)
TOL = 16 * EPS32
# (backend, device): NumPy, torch and array-api-strict share their memory with MPI;
# array-api-strict's second device refuses that, so its arrays are staged through the host
# (torch only where installed: the suite also runs with the test extra alone)
HOST = ("numpy", None)
TORCH = ("torch", None) if importlib.util.find_spec("torch") is not None else None
PLACES = [p for p in (HOST, TORCH, ("array_api_strict", None),
                      ("array_api_strict", "device1")) if p is not None]


class Skip(Exception):
    pass


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def rank():
    return dist.get_rank()


def world():
    return dist.get_world_size()


def gather(obj):
    out = [None] * world()
    dist.all_gather_object(out, obj)
    return out


def half(a):
    """This rank's share of a full batch (the full batch splits evenly)."""
    n = len(a) // world()
    return a[rank() * n:(rank() + 1) * n]


def assert_close(name, got, want, tol=TOL):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, \
        f"{name}: {got.shape} {got.dtype} vs {want.shape} {want.dtype}"
    err = np.max(np.abs(got - want) / (np.abs(want) + 1)) if got.size else 0.0
    assert err <= tol, f"{name}: max relative difference {err:.3g} > {tol:.3g}"


def host_state(model):
    return {k: v.numpy() for k, v in model.state_dict().items()}


# -- models -----------------------------------------------------------------------------------
def tensor(x, where):
    return xpnn.tensor(x, backend=where[0], device=where[1])


def mlp(where):
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).to(where[0],
                                                                          device=where[1])


def cnn(where):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 16, bias=False),
                         nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)).to(where[0],
                                                                             device=where[1])


class LSTMHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def lstm(where):
    return LSTMHead().to(where[0], device=where[1])


class Shared(nn.Module):
    """One Linear applied twice: its parameters get two gradient contributions."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(F.tanh(self.lin(F.tanh(self.lin(x)))))


def data(kind, k, n=16):
    """Full batch number ``k`` (the same on every rank)."""
    rng = np.random.default_rng(100 + k)
    shape = {"mlp": (n, 6), "shared": (n, 6), "cnn": (n, 1, 8, 8), "lstm": (n, 5, 3)}[kind]
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, n)


def train_pair(kind, build, where, steps=3, sync_bn=False, **ddp_kwargs):
    """K SGD steps of DDP on this rank's halves and of a plain copy on the full batches."""
    xpnn.manual_seed(0)
    model, ref = build(where), build(where)
    ref.load_state_dict(model.state_dict())
    if sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = DDP(model, **ddp_kwargs)
    opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ropt = optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for k in range(steps):
        X, y = data(kind, k)
        for net, o, xb, yb in ((ddp, opt, half(X), half(y)), (ref, ropt, X, y)):
            loss = F.cross_entropy(net(tensor(xb, where)), tensor(yb, where))
            o.zero_grad()
            loss.backward()
            o.step()
    return model, ref


def assert_same_as_reference(model, ref, tol=TOL):
    got, want = host_state(model), host_state(ref)
    assert list(got) == list(want), (list(got), list(want))
    for k in got:
        assert_close(k, got[k], want[k], tol)
    everyone = gather(got)
    for r, state in enumerate(everyone):
        for k in got:
            assert np.array_equal(state[k], everyone[0][k]), f"rank {r} differs at {k}"


# -- checks ---------------------------------------------------------------------------------
@check
def launcher():
    assert world() == 2 and dist.is_initialized() and dist.get_backend() == "mpi"
    assert sorted(gather(rank())) == [0, 1]
    assert dist.get_node_local_rank() == rank()


@check
def collectives():
    for where in PLACES:
        r = rank()
        for op, want in ((dist.ReduceOp.SUM, [3, 6]), (dist.ReduceOp.AVG, [1.5, 3]),
                         (dist.ReduceOp.MAX, [2, 4]), (dist.ReduceOp.MIN, [1, 2])):
            t = tensor([r + 1.0, 2.0 * (r + 1)], where)
            v = t._version
            dist.all_reduce(t, op=op)
            assert t.numpy().tolist() == want and xpnn.float32 == t.dtype, (where, op, t)
            assert t._version > v, "all_reduce must bump the version counter"
        t = tensor([float(r)] * 3, where)
        dist.all_reduce(t, async_op=True).wait()
        assert t.numpy().tolist() == [1.0] * 3
        t = tensor([[r, r], [r, r]], where)
        dist.broadcast(t, src=1)
        assert t.numpy().tolist() == [[1, 1], [1, 1]]
        t = tensor([r, r], where)
        dist.broadcast(t, group_src=1)  # PyTorch's rank-in-group spelling
        assert t.numpy().tolist() == [1, 1]
        parts = [tensor([0.0, 0.0], where) for _ in range(2)]
        dist.all_gather(parts, tensor([r, 10.0 + r], where))
        assert [p.numpy().tolist() for p in parts] == [[0, 10], [1, 11]]
        out = tensor([0.0] * 4, where)
        dist.all_gather_into_tensor(out, tensor([r, r + 0.5], where))
        assert out.numpy().tolist() == [0, 0.5, 1, 1.5]
    a = np.full(3, rank() + 1, dtype=np.int64)
    dist.all_reduce(a)
    assert a.tolist() == [3, 3, 3]
    objs = [None] * 2
    dist.all_gather_object(objs, {"rank": rank()})
    assert objs == [{"rank": 0}, {"rank": 1}]
    lst = ["from", rank()]
    dist.broadcast_object_list(lst, src=0)
    assert lst == ["from", 0]
    lst = ["from", rank()]
    dist.broadcast_object_list(lst, group_src=1)
    assert lst == ["from", 1]
    for bad in (dict(src=0, group_src=0), dict()):
        try:
            dist.broadcast(tensor([1.0], HOST), **bad)
        except ValueError as e:
            assert "src" in str(e)
        else:
            raise AssertionError(f"broadcast({bad}) must raise")
    dist.barrier(timeout=datetime.timedelta(seconds=60))
    try:
        dist.all_reduce(xpnn.tensor([1, 2]), op=dist.ReduceOp.AVG)
    except TypeError as e:
        assert "AVG" in str(e) and "int64" in str(e)
    else:
        raise AssertionError("AVG of integers must raise")


@check
def mlp_equals_one_process():
    for where in PLACES:
        assert_same_as_reference(*train_pair("mlp", mlp, where))
    # buckets of ~100 bytes: several buckets per dtype, launched in order as backward fills
    assert_same_as_reference(*train_pair("mlp", mlp, HOST, bucket_cap_mb=1e-4))


@check
def cnn_syncbn_equals_one_process():
    model, ref = train_pair("cnn", cnn, HOST, sync_bn=True, bucket_cap_mb=1e-3)
    assert sum(isinstance(m, nn.SyncBatchNorm) for m in model.modules()) == 2
    assert_same_as_reference(model, ref)
    if TORCH is not None:
        model, ref = train_pair("cnn", cnn, TORCH, sync_bn=True)
        assert_same_as_reference(model, ref)


@check
def cnn_plain_bn_is_per_rank():
    """Plain BatchNorm normalizes each rank's half with that half's statistics: the ranks'
    parameters stay identical (gradients averaged; rank 0's running statistics are
    broadcast before each training forward, as PyTorch does), but the run differs from one
    process on the full batch. Documented, not a bug."""
    model, ref = train_pair("cnn", cnn, HOST)
    got = {n: p.numpy() for n, p in model.named_parameters()}
    want = {n: p.numpy() for n, p in ref.named_parameters()}
    everyone = gather(got)
    for k in got:
        assert np.array_equal(everyone[0][k], everyone[1][k]), k
    diff = max(np.max(np.abs(got[k] - want[k])) for k in got)
    assert diff > 1e3 * TOL, diff


@check
def lstm_equals_one_process():
    assert_same_as_reference(*train_pair("lstm", lstm, HOST))


@check
def shared_weights_equal_one_process():
    assert_same_as_reference(*train_pair("shared", lambda w: Shared().to(w[0]), HOST))


@check
def ranks_agree_after_construction():
    xpnn.manual_seed(10 + rank())  # different weights on each rank
    model = cnn(HOST)
    before = gather(host_state(model))
    assert not np.array_equal(before[0]["0.weight"], before[1]["0.weight"])
    with xpnn.no_grad():
        model[1].running_mean.fill_(float(rank()))
    DDP(model)
    after = host_state(model)
    for k, v in after.items():
        assert np.array_equal(v, before[0][k]), f"{k} is not rank 0's"


@check
def mismatched_models_raise():
    xpnn.manual_seed(0)
    out = 3 if rank() == 0 else 5
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, out))
    try:
        DDP(model)
    except ValueError as e:
        msg = str(e)
        assert "rank 1" in msg and "'2.weight'" in msg and "(5, 16)" in msg and \
            "(3, 16)" in msg and "rank 0" in msg, msg
    else:
        raise AssertionError("DDP accepted models of different shapes")


@check
def no_sync_accumulates_then_averages():
    xpnn.manual_seed(0)
    model, ref = mlp(HOST), mlp(HOST)
    ref.load_state_dict(model.state_dict())
    ddp = DDP(model)
    (Xa, ya), (Xb, yb) = data("mlp", 0), data("mlp", 1)
    with ddp.no_sync():
        F.cross_entropy(ddp(xpnn.tensor(half(Xa))), xpnn.tensor(half(ya))).backward()
    local = {n: p.grad.numpy() for n, p in model.named_parameters()}
    F.cross_entropy(ddp(xpnn.tensor(half(Xb))), xpnn.tensor(half(yb))).backward()
    (F.cross_entropy(ref(xpnn.tensor(Xa)), xpnn.tensor(ya)) +
     F.cross_entropy(ref(xpnn.tensor(Xb)), xpnn.tensor(yb))).backward()
    everyone = gather(local)
    assert not np.array_equal(everyone[0]["0.weight"], everyone[1]["0.weight"]), \
        "no_sync must not average"
    for (n, p), q in zip(model.named_parameters(), ref.parameters()):
        assert_close(n, p.grad.numpy(), q.grad.numpy())


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 3), nn.Linear(6, 3)

    def forward(self, x, use_b):
        y = self.a(x)
        return y + self.b(x) if use_b else y


@check
def unused_parameters():
    X, y = data("mlp", 0)
    for find in (False, True):
        xpnn.manual_seed(0)
        model, ref = Branchy(), Branchy()
        ref.load_state_dict(model.state_dict())
        ddp = DDP(model, find_unused_parameters=find)
        # rank 0 uses branch b, rank 1 does not: b's gradient is rank 0's over 2
        F.cross_entropy(ddp(xpnn.tensor(half(X)), rank() == 0), xpnn.tensor(half(y))).backward()
        n = len(X) // 2
        ((F.cross_entropy(ref(xpnn.tensor(X[:n]), True), xpnn.tensor(y[:n])) +
          F.cross_entropy(ref(xpnn.tensor(X[n:]), False), xpnn.tensor(y[n:]))) / 2).backward()
        for (name, p), q in zip(model.named_parameters(), ref.parameters()):
            assert_close(name, p.grad.numpy(), q.grad.numpy())
        # no rank uses b: zeros without find_unused_parameters, None with it (as PyTorch)
        model.zero_grad()
        F.cross_entropy(ddp(xpnn.tensor(half(X)), False), xpnn.tensor(half(y))).backward()
        if find:
            assert model.b.weight.grad is None
        else:
            assert not np.any(model.b.weight.grad.numpy())
        assert model.a.weight.grad is not None


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 3), nn.Linear(6, 3)

    def forward(self, x):
        return self.a(x), self.b(x)


@check
def output_left_out_of_the_loss_is_reported():
    """An output the loss never uses leaves its parameters without gradients; the next
    forward raises on every rank (PyTorch's rule), naming them."""
    xpnn.manual_seed(0)
    ddp = DDP(TwoHeads())
    X, y = data("mlp", 0)
    first, _ = ddp(xpnn.tensor(half(X)))
    F.cross_entropy(first, xpnn.tensor(half(y))).backward()
    try:
        ddp(xpnn.tensor(half(X)))
    except RuntimeError as e:
        assert "did not finish averaging" in str(e) and "'b.weight'" in str(e), str(e)
    else:
        raise AssertionError("an unfinished reduction went unnoticed")


@check
def penalty_in_the_loss_is_averaged():
    """A weight penalty built from ddp.parameters() outside forward joins the gradient
    before the average (each parameter's hook runs once, on the summed gradient, as in
    PyTorch): the step equals one process with the same penalty on the full batch. A
    parameter the forward left out that gets a gradient anyway is refused on every rank; a
    backward under no_sync stays local."""
    xpnn.manual_seed(0)
    model, ref = mlp(HOST), mlp(HOST)
    ref.load_state_dict(model.state_dict())
    ddp = DDP(model)
    X, y = data("mlp", 0)
    (F.cross_entropy(ddp(xpnn.tensor(half(X))), xpnn.tensor(half(y))) +
     F.l2_penalty(ddp.parameters(), 1e-2)).backward()
    (F.cross_entropy(ref(xpnn.tensor(X)), xpnn.tensor(y)) +
     F.l2_penalty(ref.parameters(), 1e-2)).backward()
    for (k, p), q in zip(model.named_parameters(), ref.parameters()):
        assert_close(f"grad of {k}", p.grad.numpy(), q.grad.numpy())

    class Head(nn.Module):  # forward uses only `a`
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(6, 3), nn.Linear(6, 3)

        def forward(self, x):
            return self.a(x)
    ddp = DDP(Head())
    try:
        (F.cross_entropy(ddp(xpnn.tensor(half(X))), xpnn.tensor(half(y))) +
         F.l2_penalty(ddp.module.b.parameters(), 1e-3)).backward()
    except RuntimeError as e:
        assert "parameter 'b." in str(e) and "received a gradient" in str(e) and \
            "no_sync" in str(e), str(e)
    else:
        raise AssertionError("a gradient for a parameter forward left out went unnoticed")
    # a penalty in a backward of its own under no_sync: local, and allowed
    ddp = DDP(mlp(HOST))
    F.cross_entropy(ddp(xpnn.tensor(half(X))), xpnn.tensor(half(y))).backward()
    with ddp.no_sync():
        F.l2_penalty(ddp.parameters(), 1e-3).backward()
    grads = gather({n: p.grad.numpy() for n, p in ddp.named_parameters()})
    for k in grads[0]:
        assert np.array_equal(grads[0][k], grads[1][k]), k


@check
def distributed_sampler_partitions():
    try:
        from xpnn.utils.data import DistributedSampler
    except ImportError:
        raise Skip("xpnn.utils.data.DistributedSampler is not there yet") from None
    for n, drop_last in ((10, False), (11, True)):
        for shuffle in (False, True):
            sampler = DistributedSampler(list(range(n)), shuffle=shuffle, seed=3,
                                         drop_last=drop_last)
            orders = []
            for epoch in (0, 1):
                sampler.set_epoch(epoch)
                mine = [int(i) for i in sampler]
                assert len(mine) == len(sampler) == n // 2
                shards = gather(mine)
                everything = sorted(shards[0] + shards[1])
                assert len(set(everything)) == len(everything), "a sample on two ranks"
                assert set(everything) <= set(range(n))
                if not drop_last:
                    assert everything == list(range(n)), "a sample on no rank"
                orders.append(mine)
            assert (orders[0] != orders[1]) == shuffle, "set_epoch must reshuffle"


@check
def checkpoint_resume():
    """Rank 0 writes the checkpoint (of the unwrapped module, so any world size can load
    it); resuming on 2 ranks equals the run that never stopped, bit for bit, and resuming
    on 1 process equals it within float32 rounding."""
    folder = sys.argv[2]
    path = os.path.join(folder, "ckpt.safetensors")

    def run(ddp, opt, steps):
        for k in steps:
            X, y = data("mlp", k)
            loss = F.cross_entropy(ddp(xpnn.tensor(half(X))), xpnn.tensor(half(y)))
            opt.zero_grad()
            loss.backward()
            opt.step()

    def fresh(seed):
        xpnn.manual_seed(seed)
        ddp = DDP(mlp(HOST))
        return ddp, optim.Adam(ddp.parameters(), lr=0.01)

    ddp, opt = fresh(0)
    run(ddp, opt, range(4))
    full = host_state(ddp.module)
    ddp, opt = fresh(0)
    run(ddp, opt, range(2))
    if rank() == 0:
        xpnn.save_checkpoint(path, ddp.module, opt, epoch=1, step=2)
    dist.barrier()
    assert os.listdir(folder) == ["ckpt.safetensors"], os.listdir(folder)
    ddp, opt = fresh(7)  # other weights: all must come from the checkpoint
    info = xpnn.load_checkpoint(path, ddp.module, opt)
    assert info["step"] == 2
    run(ddp, opt, range(2, 4))
    for k, v in host_state(ddp.module).items():
        assert np.array_equal(v, full[k]), f"2-rank resume differs at {k}"
    if rank() == 0:  # one process, full batches
        xpnn.manual_seed(7)
        model = mlp(HOST)
        o = optim.Adam(model.parameters(), lr=0.01)
        xpnn.load_checkpoint(path, model, o)
        for k in range(2, 4):
            X, y = data("mlp", k)
            loss = F.cross_entropy(model(xpnn.tensor(X)), xpnn.tensor(y))
            o.zero_grad()
            loss.backward()
            o.step()
        for k, v in host_state(model).items():
            assert_close(f"1-process resume {k}", v, full[k])


@check
def module_attribute_and_state_dict():
    xpnn.manual_seed(0)
    model = mlp(HOST)
    ddp = DDP(model)
    assert ddp.module is model
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    plain = mlp(HOST)
    plain.load_state_dict(ddp.module.state_dict())
    with xpnn.no_grad():  # evaluation arms nothing
        ddp.eval()
        ddp(xpnn.tensor(data("mlp", 0)[0]))
    ddp.train()
    X, y = data("mlp", 0)
    ddp(xpnn.tensor(half(X)))  # a training forward without backward is fine
    F.cross_entropy(ddp(xpnn.tensor(half(X))), xpnn.tensor(half(y))).backward()
    assert all(p.grad is not None for p in model.parameters())
    try:  # a backward through the bare module would leave the ranks' gradients apart
        F.cross_entropy(ddp.module(xpnn.tensor(half(X))), xpnn.tensor(half(y))).backward()
    except RuntimeError as e:
        assert "after this step's gradients were averaged" in str(e), str(e)
    else:
        raise AssertionError("a backward through ddp.module went unnoticed")


# -- fit in a process group --------------------------------------------------------------------
def fit_data(n=40, seed=5):
    """n samples of 3 classes (the same on every rank)."""
    X = np.random.default_rng(seed).standard_normal((n, 6)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)


def fit_run(folder, tag, resume=None):
    """Two epochs of fit on a DDP MLP with arrays, validation, a checkpoint per epoch and
    a CSV log; returns (ddp, History, what this rank printed)."""
    xpnn.manual_seed(0)
    ddp = DDP(mlp(HOST))
    opt = optim.Adam(ddp.parameters(), lr=0.01)
    cbs = [ModelCheckpoint(os.path.join(folder, tag + "-{epoch}.safetensors"),
                           save_optimizer=True), CSVLogger(os.path.join(folder, tag + ".csv"))]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = xpnn.fit(ddp, fit_data(), F.cross_entropy, opt, epochs=2,
                           val=fit_data(21, 6), metrics=("accuracy", "confusion_matrix"),
                           callbacks=cbs, progress="lines", batch_size=8, resume_from=resume)
    return ddp, history, out.getvalue()


@check
def fit_in_a_process_group():
    """fit(ddp, (X, y)): each rank trains on its share (40 training and 21 validation
    samples counted once each), every rank logs the same numbers (those of the whole data:
    validation equals one process evaluating the final model), rank 0 alone prints and
    writes; resuming from its epoch-1 checkpoint on 2 ranks equals the uninterrupted run
    bit for bit, and the file loads in one process."""
    folder = os.path.join(sys.argv[2], "fit")
    if rank() == 0:
        os.makedirs(folder)
    dist.barrier()
    ddp, history, printed = fit_run(folder, "run")
    logs = history.to_dict()
    assert gather(logs) == [logs] * world(), "ranks logged different numbers"
    assert [int(np.sum(m)) for m in logs["confusion_matrix"]] == [40, 40]
    assert [int(np.sum(m)) for m in logs["val_confusion_matrix"]] == [21, 21]
    alone = xpnn.evaluate(ddp.module, fit_data(21, 6), F.cross_entropy,
                          ("accuracy", "confusion_matrix"))
    assert_close("val_loss", logs["val_loss"][-1], alone["loss"], 1e-6)
    assert logs["val_accuracy"][-1] == alone["accuracy"]
    assert np.array_equal(logs["val_confusion_matrix"][-1], alone["confusion_matrix"])
    lines = [line for line in printed.splitlines() if line.startswith("epoch ")]
    assert len(lines) == (2 if rank() == 0 else 0), printed
    assert sorted(os.listdir(folder)) == ["run-1.safetensors", "run-2.safetensors",
                                          "run.csv"], os.listdir(folder)
    with open(os.path.join(folder, "run.csv")) as f:
        assert len(f.read().splitlines()) == 3  # header and one row per epoch
    resumed, history, _ = fit_run(folder, "resumed",
                                  resume=os.path.join(folder, "run-1.safetensors"))
    assert history.epoch == [1]
    want = host_state(ddp.module)
    for k, v in host_state(resumed.module).items():
        assert np.array_equal(v, want[k]), f"the resumed run differs at {k}"
    if rank() == 0:
        plain = mlp(HOST)
        xpnn.load_checkpoint(os.path.join(folder, "run-2.safetensors"), plain)
        for k, v in host_state(plain).items():
            assert np.array_equal(v, want[k]), f"one process loads {k} differently"
    dist.barrier()


@check
def fit_refuses_what_would_diverge():
    """A model not wrapped in DDP, and loaders of different lengths, raise on every rank."""
    X, y = fit_data()
    opt = optim.SGD(mlp(HOST).parameters(), lr=0.1)
    try:
        xpnn.fit(mlp(HOST), (X, y), F.cross_entropy, opt, progress=False)
    except TypeError as e:
        assert "not a DistributedDataParallel" in str(e), str(e)
    else:
        raise AssertionError("fit trained a plain model on 2 ranks")
    ddp = DDP(mlp(HOST))
    loader = xpnn.data.DataLoader(X[:8 * (rank() + 1)], y[:8 * (rank() + 1)], batch_size=8)
    try:
        xpnn.fit(ddp, loader, F.cross_entropy, optim.SGD(ddp.parameters(), lr=0.1),
                 progress=False)
    except ValueError as e:
        assert "different lengths [1, 2]" in str(e), str(e)
    else:
        raise AssertionError("fit ran loaders of different lengths")


@check
def fit_skips_a_step_on_every_rank():
    """on_nonfinite="skip": a NaN in rank 1's first batch makes both ranks leave that step
    out (a rank that stepped alone would hang the next all-reduce); weights stay equal."""
    X, y = fit_data()
    X, y = half(X).copy(), half(y)
    if rank() == 1:
        X[0, 0] = np.nan
    xpnn.manual_seed(0)
    ddp = DDP(mlp(HOST))
    history = xpnn.fit(ddp, xpnn.data.DataLoader(X, y, batch_size=5), F.cross_entropy,
                       optim.SGD(ddp.parameters(), lr=0.1), on_nonfinite="skip",
                       progress=False)
    assert history["skipped"] == [1], history["skipped"]
    state = host_state(ddp.module)
    assert all(np.isfinite(v).all() for v in state.values())
    for other in gather(state):
        for k, v in state.items():
            assert np.array_equal(v, other[k]), f"ranks differ at {k}"


def main():
    dist.init_process_group("mpi")
    results = {}
    for name, fn in CHECKS.items():
        t0 = time.perf_counter()
        try:
            fn()
            status = "ok"
        except Skip as e:
            status = f"skip: {e}"
        except Exception:
            status = f"rank {rank()}: {traceback.format_exc()}"
        statuses = gather(status)
        bad = [s for s in statuses if s != "ok"]
        results[name] = {"status": bad[0] if bad else "ok",
                         "seconds": round(time.perf_counter() - t0, 3)}
    if rank() == 0:
        with open(sys.argv[1], "w") as f:
            json.dump(results, f, indent=1)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
