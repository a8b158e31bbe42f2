"""xpnn.multiprocessing against torch.multiprocessing: Python's multiprocessing under
PyTorch's name, and spawn/start_processes running fn(i, *args) in new processes, with a
child's exception raised in the parent (the others stopped) as PyTorch's classes."""
import os
import time

import pytest

import xpnn
import xpnn.multiprocessing as mp

torch = pytest.importorskip("torch")
import torch.multiprocessing as tmp  # noqa: E402


def _write(i, folder, scale):
    """Each process trains nothing: it writes its index times ``scale`` with xpnn."""
    x = xpnn.arange(3.0) * (i * scale)
    with open(os.path.join(folder, f"{i}.txt"), "w") as f:
        f.write(" ".join(str(v) for v in x.tolist()))


def _fail_one(i, delay):
    if i == 1:
        raise ValueError(f"rank {i} failed")
    time.sleep(delay)


def _exit_two(i):
    if i == 0:
        os._exit(2)


def test_the_module_is_pythons_under_torchs_name():
    for name in ("Process", "Queue", "get_context", "set_start_method", "cpu_count",
                 "spawn", "start_processes", "ProcessContext", "set_sharing_strategy"):
        assert hasattr(mp, name) and hasattr(tmp, name), name
    assert mp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    with pytest.raises(ValueError):
        mp.set_sharing_strategy("shared")


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_spawn_runs_fn_with_each_index(tmp_path, method):
    assert mp.start_processes(_write, args=(str(tmp_path), 2.0), nprocs=2,
                              start_method=method) is None
    assert sorted(os.listdir(tmp_path)) == ["0.txt", "1.txt"]
    assert (tmp_path / "1.txt").read_text() == "0.0 2.0 4.0"


def test_a_child_exception_is_raised_in_the_parent_as_torch():
    for m in (tmp, mp):
        with pytest.raises(m.ProcessRaisedException, match="rank 1 failed") as info:
            m.start_processes(_fail_one, args=(30.0,), nprocs=2, start_method="fork")
        assert info.value.error_index == 1


def test_an_exit_code_and_join_false():
    for m in (tmp, mp):
        with pytest.raises(m.ProcessExitedException, match="exit code 2"):
            m.start_processes(_exit_two, nprocs=2, start_method="fork")
    ctx = mp.start_processes(_fail_one, args=(0.0,), nprocs=1, join=False,
                             start_method="fork")
    assert len(ctx.pids()) == 1
    while not ctx.join():
        pass


def test_spawn_with_another_start_method_warns_as_torch(tmp_path):
    for m in (tmp, mp):
        with pytest.warns(FutureWarning, match="start_processes"):
            m.spawn(_write, args=(str(tmp_path), 1.0), nprocs=1, start_method="fork")
    assert (tmp_path / "0.txt").read_text() == "0.0 0.0 0.0"
