"""Training does not leak: graphs are freed by reference counting as backward runs, and
1,000 steps of an MLP leave the process's resident memory where warm-up left it.

benchmarks/memory.py prints the figures (per backend, against a PyTorch peer); the network,
the step and the measurement come from there, so the test and the benchmark agree.
"""
import gc
import importlib.util
import os
import weakref
from pathlib import Path

import pytest

import xpnn.functional as F


def _load_benchmark():
    """benchmarks/memory.py under a private name (benchmarks/ is not a package)."""
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "memory.py"
    spec = importlib.util.spec_from_file_location("_xpnn_bench_memory", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bench = _load_benchmark()
GROWTH_LIMIT_MIB = 4  # allocator noise is well under this, a leak of one (64, 64) float32
# activation per step would be 16 MB after 1,000 steps


def test_graph_is_freed_without_the_garbage_collector(backend):
    model, X, y = bench.mlp_and_batch(backend)
    gc.disable()  # refcounting alone must free it: no reference cycles in the graph
    try:
        out = model(X)
        node = weakref.ref(out._node)
        loss = F.cross_entropy(out, y)
        loss.backward()
        del out, loss
        assert node() is None
    finally:
        gc.enable()


@pytest.fixture
def one_torch_thread(host_backend):
    """Small torch ops on a shared 2-core machine run 10x faster on one thread."""
    if host_backend != "torch":
        yield
        return
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.skipif(not os.path.exists(bench.STATM), reason="needs Linux /proc")
def test_thousand_steps_do_not_grow_memory(host_backend, one_torch_thread):
    backend = host_backend
    # plain SGD on raw arrays: no optimizer dependence
    step, _ = bench.xpnn_stepper(backend, optimizer=False)
    growth = bench.rss_growth(step, steps=1000, warmup=100)["growth"]
    assert growth < GROWTH_LIMIT_MIB, f"{backend}: RSS grew {growth:.2f} MiB"
