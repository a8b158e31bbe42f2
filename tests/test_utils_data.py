"""xpnn.utils.data against torch.utils.data: datasets, samplers, collate, the DataLoader (fast
path, in-process, worker processes), seeding and resuming.

Index orders drawn from different generators cannot be compared with PyTorch's; structure
can: batch shapes, counts, every index once per epoch, collate outputs, split sizes,
deterministic samplers index for index, sampling frequencies statistically.
"""
import collections
import gc
import math
import multiprocessing
import os
import random
import sys
import time
import types

import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import backend as B
from xpnn.utils import data as D

torch = pytest.importorskip("torch")
TD = torch.utils.data

Pair = collections.namedtuple("Pair", "a b")


# -- helpers (module level: picklable for worker processes) ----------------------------------
def same(ours, theirs, path="batch"):
    """``ours`` (xpnn) has the structure and values of ``theirs`` (PyTorch); PyTorch's
    float64 is float32 here (no silent float64)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, xpnn.Tensor), f"{path}: {type(ours).__name__}"
        assert tuple(ours.shape) == tuple(theirs.shape), path
        want = str(theirs.dtype).split(".")[-1]
        want = "float32" if want == "float64" else want
        assert B.dtype_name(ours.dtype) == want, f"{path}: {ours.dtype} vs {want}"
        np.testing.assert_allclose(to_np(ours), theirs.numpy(), rtol=1e-6, err_msg=path)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs), path
        for k in theirs:
            same(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__, f"{path}: {type(ours)}"
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            same(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, f"{path}: {ours!r} != {theirs!r}"


def epoch(loader, col=-1):
    """One epoch's values of field ``col`` of each batch, concatenated on the host."""
    return np.concatenate([to_np(b[col] if isinstance(b, (list, tuple)) else b)
                           for b in loader])


class Records(D.Dataset):
    """A map-style dataset of nested host samples (dicts, tuples, namedtuples, strings)."""

    def __init__(self, n=7, fail_at=None, exit_at=None, sleep=0.0):
        self.n, self.fail_at, self.exit_at, self.sleep = n, fail_at, exit_at, sleep

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        if i == self.exit_at:
            os._exit(3)
        if self.sleep:
            time.sleep(self.sleep)
        x = np.full((2, 3), i, dtype=np.float64)
        return {"x": x, "pair": Pair(i, float(i) / 2), "t": (np.int32(i), [i, i + 1]),
                "name": f"s{i}"}


class TorchRecords(TD.Dataset):
    def __init__(self, n=7):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return Records(self.n)[i]


class Range(D.IterableDataset):
    """0..n-1, split between workers by get_worker_info (PyTorch's sharding recipe)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = D.get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


class Pids(D.Dataset):
    """Sample i is (i, the pid of the process that loaded it, a draw from Python's random)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return i, os.getpid(), random.random()


def fail_init(worker_id):
    raise RuntimeError(f"no init for worker {worker_id}")


def unpicklable(batch):
    return lambda: batch


@pytest.fixture
def no_workers_left():
    yield
    gc.collect()
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


# -- datasets ----------------------------------------------------------------------------------
def test_tensor_dataset(backend):
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    y = np.arange(6, dtype=np.int32)
    ds = D.TensorDataset(X, y, np.ones((6, 2), np.int32))
    assert len(ds) == 6
    x3, y3, m3 = ds[3]
    assert x3.backend == backend and B.dtype_name(x3.dtype) == "float32"  # no float64
    assert B.dtype_name(y3.dtype) == "int64"                    # 1-D integers: labels
    assert B.dtype_name(m3.dtype) == "int32"                    # other integer data kept
    np.testing.assert_array_equal(to_np(x3), [6, 7])
    t = xpnn.tensor([[1.0], [2.0]], dtype=xpnn.float64)
    assert D.TensorDataset(t).tensors[0] is t                   # Tensors kept as they are
    with pytest.raises(ValueError, match=r"size mismatch.*\[6, 5\].*\(6, 2\), \(5,\)"):
        D.TensorDataset(X, y[:5])
    with pytest.raises(TypeError, match="must be numeric"):
        D.TensorDataset(np.array(["a", "b"]))


def test_concat_chain_subset_like_torch():
    a, b = list(range(3)), list(range(10, 15))
    ours, theirs = D.ConcatDataset([a, b]), TD.ConcatDataset([a, b])
    assert ours.cumulative_sizes == theirs.cumulative_sizes and len(ours) == len(theirs)
    assert [ours[i] for i in range(-8, 8)] == [theirs[i] for i in range(-8, 8)]
    with pytest.raises(ValueError, match="absolute value"):
        ours[-9]
    with pytest.raises(IndexError):
        ours[8]
    assert isinstance(D.TensorDataset(np.zeros(2)) + D.TensorDataset(np.ones(3)),
                      D.ConcatDataset)
    with pytest.raises(TypeError, match="ConcatDataset does not support IterableDataset"):
        D.ConcatDataset([Range(2)])
    chain = Range(3) + Range(2)
    assert isinstance(chain, D.ChainDataset) and list(chain) == [0, 1, 2, 0, 1]
    sub = D.Subset(b, [4, 0])
    assert len(sub) == 2 and sub[0] == 14 and sub[1] == 10


@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]),
                                        (7, [0.2, 0.3, 0.5]), (100, [0.33, 0.33, 0.34]),
                                        (5, [1.0])])
def test_random_split_sizes_like_torch(n, lengths):
    ours = D.random_split(list(range(n)), lengths, generator=xpnn.Generator().manual_seed(0))
    theirs = TD.random_split(list(range(n)), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    got = sorted(i for s in ours for i in s)
    assert got == list(range(n))  # disjoint and complete


def test_random_split_seeding_and_errors():
    g = xpnn.Generator().manual_seed(4)
    a = [list(s) for s in D.random_split(list(range(20)), [5, 15], generator=g)]
    b = [list(s) for s in D.random_split(list(range(20)), [5, 15],
                                         generator=xpnn.Generator().manual_seed(4))]
    assert a == b
    xpnn.manual_seed(2)
    c = list(D.random_split(list(range(20)), [10, 10])[0])
    xpnn.manual_seed(2)
    assert list(D.random_split(list(range(20)), [10, 10])[0]) == c
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\) does not equal.*\(10\)"):
        D.random_split(list(range(10)), [4, 5])
    with pytest.warns(UserWarning, match="length of split at index 1 is 0"):
        D.random_split(list(range(2)), [0.9, 0.1])
    with pytest.raises(TypeError, match="random_split: generator must be"):
        D.random_split(list(range(2)), [1, 1], generator=3)


# -- collate -------------------------------------------------------------------------------------
def test_default_collate_like_torch():
    samples = [Records()[i] for i in range(3)]
    same(D.default_collate(samples), TD.default_collate(samples))
    for batch in ([(1, 2.0), (3, 4.0)], [[1, 2], [3, 4]], [True, False],
                  [np.float32(1.5), np.float32(2)], [b"x", b"y"],
                  [Pair(np.zeros(2, np.int16), "a"), Pair(np.ones(2, np.int16), "b")]):
        same(D.default_collate(batch), TD.default_collate(batch))
    tensors = [xpnn.tensor([1.0, 2.0]), xpnn.tensor([3.0, 4.0])]
    out = D.default_collate(tensors)
    assert out.shape == (2, 2) and B.dtype_name(out.dtype) == "float32"
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        D.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers"):
        D.default_collate([object()])
    with pytest.raises(TypeError, match="batch must contain tensors"):
        D.default_collate([np.array(["a"])])


def test_default_collate_stacks_on_the_backend(backend):
    samples = [xpnn.tensor([i, i + 1.0]) for i in range(3)]
    out = D.default_collate(samples)
    assert out.backend == backend and out.shape == (3, 2)
    host = D.default_collate([np.zeros(2), np.ones(2)])  # host data: the default backend
    assert host.backend == backend and B.dtype_name(host.dtype) == "float32"


def test_default_convert_like_torch():
    for data in (np.zeros(2), {"a": np.ones(1, np.int32), "b": 3}, [np.zeros(1), "s"],
                 Pair(np.zeros(1), 2), (np.arange(3), 1), 5):
        same(D.default_convert(data), TD.default_convert(data))


# -- samplers ------------------------------------------------------------------------------------
def test_sequential_batch_sampler_like_torch():
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)]:
        ours = D.BatchSampler(D.SequentialSampler(range(n)), bs, drop)
        theirs = TD.BatchSampler(TD.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size should be a positive integer"):
            D.BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        D.BatchSampler(range(3), 2, 1)


def test_random_sampler():
    src = range(50)
    g = xpnn.Generator().manual_seed(3)
    s = D.RandomSampler(src, generator=g)
    e1, e2 = list(s), list(s)
    assert sorted(e1) == list(range(50)) and e1 != e2 and len(s) == 50
    assert list(D.RandomSampler(src, generator=xpnn.Generator().manual_seed(3))) == e1
    xpnn.manual_seed(8)
    a = list(D.RandomSampler(src))
    xpnn.manual_seed(8)
    assert list(D.RandomSampler(src)) == a
    more = list(D.RandomSampler(range(4), num_samples=10))
    assert len(more) == 10 and np.bincount(more).tolist() in ([3, 3, 2, 2], [3, 2, 3, 2],
                                                              [3, 2, 2, 3], [2, 3, 3, 2],
                                                              [2, 3, 2, 3], [2, 2, 3, 3])
    assert np.bincount(more[:8]).tolist() == [2, 2, 2, 2]  # whole permutations first
    rep = list(D.RandomSampler(range(3), replacement=True, num_samples=40))
    assert len(rep) == 40 and set(rep) <= {0, 1, 2}
    assert len(TD.RandomSampler(range(4), num_samples=10)) == len(
        D.RandomSampler(range(4), num_samples=10))
    with pytest.raises(ValueError, match="replacement should be a boolean value"):
        D.RandomSampler(src, replacement=0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but "
                       "got num_samples=0"):
        D.RandomSampler([])
    sub = list(D.SubsetRandomSampler([7, 3, 9], generator=xpnn.Generator().manual_seed(0)))
    assert sorted(sub) == [3, 7, 9]


def test_weighted_random_sampler_frequencies_match_torch():
    w, k = [1.0, 2.0, 3.0, 4.0, 0.0], 40_000
    ours = np.bincount(list(D.WeightedRandomSampler(
        w, k, generator=xpnn.Generator().manual_seed(0))), minlength=5)
    theirs = np.bincount(list(TD.WeightedRandomSampler(
        w, k, generator=torch.Generator().manual_seed(0))), minlength=5)
    p = np.asarray(w) / sum(w)
    sigma = np.sqrt(k * p * (1 - p))
    for counts in (ours, theirs):  # both within 5 standard deviations of k p
        assert np.all(np.abs(counts - k * p) <= 5 * sigma + 1e-9), counts
    assert ours[4] == 0
    no_rep = list(D.WeightedRandomSampler(w, 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="without replacement from 4 non-zero weights"):
        D.WeightedRandomSampler(w, 5, replacement=False)
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence.*\(2, 2\)"):
        D.WeightedRandomSampler([[1, 2], [3, 4]], 2)
    with pytest.raises(ValueError, match="non-negative"):
        D.WeightedRandomSampler([1, -1], 2)


@pytest.mark.parametrize("n", [9, 10, 11, 3])
@pytest.mark.parametrize("replicas", [1, 2, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_like_torch(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):  # no shuffle: PyTorch's exact index lists
        ours = D.DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TD.DistributedSampler(data, replicas, rank, shuffle=False,
                                       drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    shares = [list(D.DistributedSampler(data, replicas, r, seed=5, drop_last=drop_last))
              for r in range(replicas)]
    assert len({len(s) for s in shares}) == 1
    flat = [i for s in shares for i in s]
    if n % replicas == 0:
        assert sorted(flat) == data  # every sample to exactly one rank
    elif drop_last:
        assert len(set(flat)) == len(flat) == replicas * (n // replicas)
    else:
        assert set(flat) == set(data) and len(flat) == replicas * math.ceil(n / replicas)


def test_distributed_sampler_epochs_and_errors():
    s = D.DistributedSampler(range(20), 2, 0, seed=1)
    e0 = list(s)
    assert list(s) == e0  # without set_epoch, every epoch repeats the order
    s.set_epoch(1)
    assert list(s) != e0 and list(D.DistributedSampler(range(20), 2, 0, seed=1)) == e0
    with pytest.raises(ValueError, match=r"invalid rank 2, rank should be in the interval "
                       r"\[0, 1\]"):
        D.DistributedSampler(range(4), 2, 2)
    with pytest.raises(RuntimeError, match="num_replicas and rank were not given and no "
                       "process group is initialized"):
        D.DistributedSampler(range(4))


def test_distributed_sampler_reads_the_process_group(monkeypatch):
    # xpnn.distributed is built elsewhere; this stands in for its three functions
    group = types.ModuleType("xpnn.distributed")
    group.is_initialized = lambda: True
    group.get_world_size = lambda: 3
    group.get_rank = lambda: 2
    monkeypatch.setitem(sys.modules, "xpnn.distributed", group)
    s = D.DistributedSampler(range(7), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (3, 2, [2, 5, 1])
    group.is_initialized = lambda: False
    with pytest.raises(RuntimeError, match="pass num_replicas= and rank= explicitly"):
        D.DistributedSampler(range(7))


# -- DataLoader: structure against PyTorch ----------------------------------------------------
@pytest.mark.parametrize("bs, drop_last, shuffle", [(4, False, False), (4, True, True),
                                                    (3, False, True), (10, False, False),
                                                    (16, True, False)])
def test_tensor_loader_structure_like_torch(bs, drop_last, shuffle):
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    ours = D.DataLoader(D.TensorDataset(X, y), batch_size=bs, shuffle=shuffle,
                        drop_last=drop_last)
    theirs = TD.DataLoader(TD.TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=bs,
                           shuffle=shuffle, drop_last=drop_last)
    assert len(ours) == len(theirs) and len(iter(ours)) == len(theirs)
    ob, tb = list(ours), list(theirs)
    assert [[tuple(t.shape) for t in b] for b in ob] == [[tuple(t.shape) for t in b]
                                                         for b in tb]
    assert all(type(b) is list for b in ob)  # default_collate: tuples come back as lists
    if not shuffle:
        for a, b in zip(ob, tb):
            same(a, b)
    elif not drop_last:
        assert sorted(epoch(ours).tolist()) == list(range(10))
    for b in ob:  # rows stay paired
        np.testing.assert_array_equal(to_np(b[0])[:, 0] // 3, to_np(b[1]))
    assert isinstance(ours.sampler, D.RandomSampler if shuffle else D.SequentialSampler)
    assert ours.batch_size == bs and ours.drop_last == drop_last


def test_general_loader_like_torch():
    ours = D.DataLoader(Records(7), batch_size=3)
    theirs = TD.DataLoader(TorchRecords(7), batch_size=3)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        same(a, b)
    for a, b in zip(D.DataLoader(Records(3), batch_size=None),
                    TD.DataLoader(TorchRecords(3), batch_size=None)):
        same(a, b)
    placed = next(iter(D.DataLoader(Records(2), batch_size=2, backend="torch")))
    assert placed["x"].backend == "torch" and placed["t"][0].backend == "torch"
    batches = list(D.DataLoader(Records(5), batch_sampler=[[4, 0], [2]]))
    assert [b["name"] for b in batches] == [["s4", "s0"], ["s2"]]
    for bs, drop in [(3, False), (3, True), (None, False)]:
        ours = [b.tolist() if hasattr(b, "tolist") else b
                for b in D.DataLoader(Range(7), batch_size=bs, drop_last=drop)]
        theirs = [b.tolist() if hasattr(b, "tolist") else b
                  for b in TD.DataLoader(range(7) if bs is None else _TorchRange(7),
                                         batch_size=bs, drop_last=drop)]
        assert ours == theirs
        assert len(D.DataLoader(Range(7), batch_size=bs, drop_last=drop)) == len(theirs)


class _TorchRange(TD.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


def test_loader_option_errors_like_torch():
    ds, tds = D.TensorDataset(np.zeros(4)), TD.TensorDataset(torch.zeros(4))
    cases = [dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
             dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=None, drop_last=True),
             dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
             dict(persistent_workers=True)]
    for kw in cases:
        with pytest.raises(ValueError):
            TD.DataLoader(tds, **kw)
        with pytest.raises(ValueError):
            D.DataLoader(ds, **kw)
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got "
                       "shuffle=True"):
        D.DataLoader(Range(3), shuffle=True)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        D.DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="start method"):
        D.DataLoader(ds, num_workers=1, multiprocessing_context="nope")
    loader = D.DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                       "DataLoader is initialized"):
        loader.batch_size = 3
    assert loader.dataset is ds and loader.batch_size == 2 and len(loader) == 2


# -- the fast path -------------------------------------------------------------------------------
@pytest.fixture
def host_reads(monkeypatch):
    """A list that grows by one entry per device-to-host read through xpnn.backend.to_numpy
    (array-api-strict's device1 also refuses implicit host conversion)."""
    seen = []
    real = B.to_numpy

    def counted(arr):
        if B.is_array(arr) and not B.backend_of(arr).on_host:
            seen.append(1)
        return real(arr)
    monkeypatch.setattr(B, "to_numpy", counted)
    return seen


def test_fast_path_on_the_device(backend, host_reads):
    X = np.arange(40, dtype=np.float64).reshape(20, 2)
    y = np.arange(20)
    ds = D.TensorDataset(X, y)
    samplers = [dict(shuffle=True), dict(sampler=D.DistributedSampler(ds, 2, 1)),
                dict(sampler=[19, -1, 0, 5]), dict(batch_sampler=[[3, 2], [1]]),
                dict(sampler=D.WeightedRandomSampler(np.ones(20), 30))]
    for kw in samplers:
        loader = D.DataLoader(ds, batch_size=4, **kw) if "batch_sampler" not in kw else \
            D.DataLoader(ds, **kw)
        assert loader._fast is not None and loader.backend == backend
        before = len(host_reads)
        batches = list(loader)
        assert len(host_reads) == before, f"{kw}: device-to-host reads while iterating"
        for xb, yb in batches:
            assert xb.backend == backend and yb.backend == backend
            assert B.dtype_name(xb.dtype) == "float32" and B.dtype_name(yb.dtype) == "int64"
        got = np.concatenate([to_np(b[1]) for b in batches])
        np.testing.assert_array_equal(np.concatenate([to_np(b[0])[:, 0] // 2
                                                      for b in batches]), got)
        if "shuffle" in kw:
            assert sorted(got.tolist()) == list(range(20))
        elif "sampler" in kw and isinstance(kw["sampler"], list):
            assert got.tolist() == [19, 19, 0, 5]
        elif "batch_sampler" in kw:
            assert got.tolist() == [3, 2, 1]


def test_fast_path_equals_general_path():
    X = np.random.default_rng(0).standard_normal((23, 3)).astype(np.float32)
    y = np.arange(23)
    ds = D.TensorDataset(X, y)

    def run(**kw):
        return [to_np(b[0]) for b in D.DataLoader(
            ds, batch_size=5, shuffle=True, generator=xpnn.Generator().manual_seed(9), **kw)]
    fast = run()
    slow = run(collate_fn=lambda b: D.default_collate(b))  # a collate_fn: the general path
    assert len(fast) == len(slow) == 5
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def test_fast_path_through_random_split_and_bad_indices():
    X = np.arange(30, dtype=np.float32).reshape(15, 2)
    ds = D.TensorDataset(X, np.arange(15))
    train, val = D.random_split(ds, [0.8, 0.2], generator=xpnn.Generator().manual_seed(1))
    loader = D.DataLoader(train, batch_size=4, shuffle=True)
    assert loader._fast is not None and len(loader) == 3
    batches = list(loader)
    got = epoch(batches)
    assert sorted(got.tolist()) == sorted(train.indices)
    np.testing.assert_array_equal(epoch(batches, 0)[:, 0] // 2, got)  # rows stay paired
    nested = D.Subset(val, [2, 0])
    assert epoch(D.DataLoader(nested, batch_size=2)).tolist() == [val.indices[2],
                                                                  val.indices[0]]
    with pytest.raises(IndexError, match="index 15, out of range for a dataset of 15"):
        list(D.DataLoader(ds, sampler=[0, 15]))
    with pytest.raises(TypeError, match="integer indices"):
        list(D.DataLoader(ds, sampler=[0.5]))


def test_fast_path_on_another_backend():
    ds = D.TensorDataset(np.arange(6, dtype=np.float32), np.arange(6))
    loader = D.DataLoader(ds, batch_size=4, shuffle=True, backend="array_api_strict")
    xb, yb = next(iter(loader))
    assert xb.backend == "array_api_strict" and yb.backend == "array_api_strict"
    assert ds.tensors[0].backend == "numpy"  # the dataset stays; the loader holds a copy


def test_seeding_reproducible():
    ds = D.TensorDataset(np.arange(40))

    def orders(**kw):
        loader = D.DataLoader(ds, batch_size=8, shuffle=True, **kw)
        return [epoch(loader, 0).tolist() for _ in range(2)]
    a = orders(generator=xpnn.Generator().manual_seed(5))
    assert a == orders(generator=xpnn.Generator().manual_seed(5)) and a[0] != a[1]
    assert a != orders(generator=xpnn.Generator().manual_seed(6))
    xpnn.manual_seed(3)
    b = orders()
    xpnn.manual_seed(3)
    assert orders() == b


def test_older_form_is_the_same_class():
    assert xpnn.data.DataLoader is D.DataLoader
    X, y = np.arange(10, dtype=np.float64).reshape(5, 2), np.arange(5, dtype=np.int8)
    loader = xpnn.data.DataLoader(X, y, 2, True, True, seed=1)  # older positional form
    assert len(loader) == 2 and loader.num_samples == 4 and loader.shuffle
    xb, yb = next(iter(loader))
    assert isinstance(next(iter(loader)), tuple) and B.dtype_name(yb.dtype) == "int64"
    assert len(xpnn.data.DataLoader(X, y)) == 1  # batch_size 32 in the older form
    assert len(D.DataLoader(xpnn.tensor(X))) == 5  # a tensor as a dataset: batch_size 1
    with pytest.raises(TypeError, match="y= goes with an array X"):
        D.DataLoader(Records(), y=y)


# -- worker processes ----------------------------------------------------------------------------
def test_workers_match_in_process(no_workers_left):
    ref = list(D.DataLoader(Records(7), batch_size=2))
    got = list(D.DataLoader(Records(7), batch_size=2, num_workers=2))
    assert len(got) == len(ref) == 4
    for a, b in zip(got, ref):
        assert a["name"] == b["name"]
        assert a["x"].backend == "numpy" and B.dtype_name(a["x"].dtype) == "float32"
        np.testing.assert_array_equal(to_np(a["x"]), to_np(b["x"]))
    shuffled = D.DataLoader(Records(9), batch_size=2, shuffle=True, num_workers=2,
                            generator=xpnn.Generator().manual_seed(1))
    names = [n for b in shuffled for n in b["name"]]
    assert sorted(names) == sorted(f"s{i}" for i in range(9))
    unordered = D.DataLoader(Records(9), batch_size=2, num_workers=2, in_order=False)
    assert sorted(n for b in unordered for n in b["name"]) == sorted(names)


def test_workers_spawn_and_backend(no_workers_left):
    # datasets from xpnn itself: a spawned worker imports xpnn, not this test module (torch)
    ds = D.ConcatDataset([D.TensorDataset(np.arange(6.0).reshape(3, 2), np.arange(3))])
    loader = D.DataLoader(ds, batch_size=2, num_workers=1, multiprocessing_context="spawn",
                          backend="torch")
    assert loader._fast is None
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1], [2]]
    assert batches[0][0].backend == "torch" and B.dtype_name(batches[0][0].dtype) == "float32"


def test_iterable_dataset_sharded_across_workers(no_workers_left):
    loader = D.DataLoader(Range(11), batch_size=2, num_workers=2)
    got = sorted(v for b in loader for v in b.tolist())
    assert got == list(range(11))  # get_worker_info shards: no duplicates
    assert sorted(v for b in loader for v in b.tolist()) == got  # a second epoch


def test_worker_errors_name_the_worker(no_workers_left):
    with pytest.raises(ValueError, match=r"(?s)Caught ValueError in DataLoader worker process "
                       r"[01]\.\nOriginal Traceback.*bad sample 3"):
        list(D.DataLoader(Records(6, fail_at=3), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match="(?s)in worker_init_fn in DataLoader worker process "
                       "0.*no init for worker 0"):
        list(D.DataLoader(Records(4), batch_size=2, num_workers=1, worker_init_fn=fail_init))
    with pytest.raises(Exception, match="in DataLoader worker process 0"):
        list(D.DataLoader(Records(2), batch_size=2, num_workers=1, collate_fn=unpicklable))


def test_worker_death_and_timeout(no_workers_left):
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+ \(exit code "
                       r"3\)\) exited unexpectedly"):
        list(D.DataLoader(Records(4, exit_at=2), batch_size=1, num_workers=1))
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds"):
        list(D.DataLoader(Records(2, sleep=0.3), batch_size=1, num_workers=1, timeout=0.1))


def test_persistent_workers_and_seeds(no_workers_left):
    loader = D.DataLoader(Pids(), batch_size=2, num_workers=2, persistent_workers=True,
                          generator=xpnn.Generator().manual_seed(0))
    first = [b[1].tolist() for b in loader]
    second = [b[1].tolist() for b in loader]
    assert first == second and len({p for b in first for p in b}) == 2  # the same 2 workers
    draws = [b[2].tolist() for b in D.DataLoader(Pids(), batch_size=2, num_workers=2,
                                                 generator=xpnn.Generator().manual_seed(7))]
    again = [b[2].tolist() for b in D.DataLoader(Pids(), batch_size=2, num_workers=2,
                                                 generator=xpnn.Generator().manual_seed(7))]
    assert draws == again and draws[0][0] != draws[1][0]  # seeded per worker
    del loader


# -- resuming --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["generator", "seed", "sampler"])
def test_set_epoch_fast_forwards_own_generators(kind):
    ds = D.TensorDataset(np.arange(30))

    def make():
        if kind == "generator":
            return D.DataLoader(ds, batch_size=7, shuffle=True,
                                generator=xpnn.Generator().manual_seed(2))
        if kind == "seed":
            return xpnn.data.DataLoader(np.arange(30), batch_size=7, shuffle=True, seed=2)
        return D.DataLoader(ds, batch_size=7, sampler=D.RandomSampler(
            ds, generator=np.random.default_rng(2)))
    run = make()
    orders = [epoch(run, 0).tolist() for _ in range(3)]
    resumed = make()
    resumed.set_epoch(2)
    assert epoch(resumed, 0).tolist() == orders[2]
    resumed.set_epoch(1)  # already past: nothing is rewound or drawn
    state = run.state_dict()
    nxt = epoch(run, 0).tolist()
    fresh = make()
    fresh.load_state_dict(state)
    assert epoch(fresh, 0).tolist() == nxt and fresh.state_dict()["epoch"] == 4


def test_set_epoch_leaves_global_generators_and_reaches_distributed_sampler():
    ds = D.TensorDataset(np.arange(10))
    xpnn.manual_seed(0)
    before = B.host_rng().bit_generator.state
    loader = D.DataLoader(ds, batch_size=2, shuffle=True)
    loader.set_epoch(3)
    assert B.host_rng().bit_generator.state == before
    dist = D.DataLoader(ds, batch_size=2, sampler=D.DistributedSampler(ds, 2, 0))
    dist.set_epoch(4)
    assert dist.sampler.epoch == 4 and dist.state_dict()["sampler_epoch"] == 4
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        dist.set_epoch(-1)
