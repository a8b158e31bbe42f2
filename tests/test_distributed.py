"""xpnn.distributed, DistributedDataParallel and SyncBatchNorm under a real MPI launcher.

The suite starts ``mpiexec -n 2`` itself (in a new process session, killed whole at a
timeout, so a hang fails a test instead of the run): one launch of tests/mpi/ddp_checks.py
runs every check on both ranks and reports each one, which the tests below read; a second
launch checks that a rank that raises ends the job at once; a third runs the example
(about 6 s for the three on a quiet 2-core machine). Needs ``pip install
'xpnn[mpi]'`` (mpi4py and the MPICH wheel, whose ``mpiexec`` lands beside the Python
executable). Skipped when MPI is missing, unless ``XPNN_REQUIRE_MPI`` is set (CI sets it):
then a missing MPI is a failure. Single-process behaviour is tested without a launcher.
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import xpnn
import xpnn.distributed as dist
from xpnn import nn
from xpnn.data import DatasetNotFoundError
from xpnn.data import datasets as DS

HERE = Path(__file__).resolve().parent
MPI_DIR = HERE / "mpi"
EXAMPLE = HERE.parent / "examples" / "ddp_fashion_mnist.py"
TIMEOUT = 90  # seconds for the checks launch: ~3 s on a quiet 2-core machine, 9 s loaded


def _mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _missing():
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'xpnn[mpi]')"
    if _mpiexec() is None:
        return "no mpiexec beside the Python executable or on PATH (pip install mpich)"
    return None


def _require_mpi():
    missing = _missing()
    if missing:
        if os.environ.get("XPNN_REQUIRE_MPI"):
            pytest.fail(f"XPNN_REQUIRE_MPI is set but {missing}")
        pytest.skip(missing)


def launch(script, *args, timeout):
    """Run ``mpiexec -n 2 python script args`` (``script`` under tests/mpi/ or a path);
    returns (exit code, output, seconds). At ``timeout`` the whole process session (mpiexec
    and both ranks) is killed."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [_mpiexec(), "-n", "2", sys.executable, str(MPI_DIR / script), *map(str, args)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out, time.perf_counter() - t0
    return proc.returncode, out, time.perf_counter() - t0


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    """{check name: status} from one 2-rank launch of tests/mpi/ddp_checks.py."""
    _require_mpi()
    folder = tmp_path_factory.mktemp("mpi")
    ckpt = folder / "ckpt"
    ckpt.mkdir()
    results = folder / "results.json"
    code, out, secs = launch("ddp_checks.py", results, ckpt, timeout=TIMEOUT)
    if code is None:
        pytest.fail(f"mpiexec -n 2 ddp_checks.py hung: killed after {secs:.0f} s\n{out}")
    if code != 0 or not results.exists():
        pytest.fail(f"mpiexec -n 2 ddp_checks.py exited with {code}\n{out}")
    return {k: v["status"] for k, v in json.loads(results.read_text()).items()}


NAMES = ["launcher", "collectives", "mlp_equals_one_process", "cnn_syncbn_equals_one_process",
         "cnn_plain_bn_is_per_rank", "lstm_equals_one_process",
         "shared_weights_equal_one_process", "ranks_agree_after_construction",
         "mismatched_models_raise", "no_sync_accumulates_then_averages", "unused_parameters",
         "output_left_out_of_the_loss_is_reported", "penalty_in_the_loss_is_averaged",
         "distributed_sampler_partitions", "checkpoint_resume",
         "module_attribute_and_state_dict", "fit_in_a_process_group",
         "fit_refuses_what_would_diverge", "fit_skips_a_step_on_every_rank"]


@pytest.mark.parametrize("name", NAMES)
def test_two_ranks(checks, name):
    """One check of tests/mpi/ddp_checks.py (its docstring says what it shows)."""
    assert name in checks, f"the launch did not run {name}; it ran {sorted(checks)}"
    status = checks[name]
    if status.startswith("skip:"):
        pytest.skip(status[5:].strip())
    assert status == "ok", status


def test_every_check_is_listed(checks):
    assert sorted(checks) == sorted(NAMES)


def test_a_rank_that_raises_ends_the_job():
    _require_mpi()
    code, out, secs = launch("rank_raises.py", timeout=30)
    assert code is not None, f"the job hung after a rank raised (killed at 30 s)\n{out}"
    assert code != 0, out
    assert secs < 10, f"the job took {secs:.1f} s to end after a rank raised\n{out}"
    assert "rank 1 fails on purpose" in out, out
    assert "finished: the job was not aborted" not in out, out


def test_example_trains_on_two_ranks(tmp_path):
    """examples/ddp_fashion_mnist.py as the README runs it, on 4000 images for one epoch:
    it learns (0.81 measured; a chance model scores 0.10), rank 0 alone prints and writes
    the checkpoint, whose names are the plain model's (no "module." prefix)."""
    _require_mpi()
    try:
        folder = Path(DS._locate("fashion-mnist", None, False)[0]).parent
    except (OSError, DatasetNotFoundError) as e:
        pytest.skip(f"Fashion-MNIST files not on this machine: {e}")
    ckpt = tmp_path / "ddp.safetensors"
    code, out, secs = launch(EXAMPLE, "--subset", 4000, "--test-subset", 1000, "--epochs", 1,
                             "--data", folder, "--save", ckpt, timeout=90)
    assert code == 0, out
    lines = out.splitlines()
    acc = [float(line.split()[2]) for line in lines if line.startswith("test accuracy:")]
    assert len(acc) == 1 and acc[0] >= 0.7, out  # printed once: by rank 0
    assert sum(line.startswith("epoch 1/1") for line in lines) == 1, out
    assert os.listdir(tmp_path) == [ckpt.name]
    from safetensors.numpy import load_file
    keys = [k for k in load_file(ckpt) if k.startswith("model.")]
    assert "model.0.weight" in keys and not any(".module." in k for k in keys), keys


# -- without a launcher -----------------------------------------------------------------------
def test_outside_a_process_group():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(xpnn.tensor([1.0]))
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend must be one of"):
        dist.init_process_group("gloo")


def test_syncbatchnorm_outside_a_group_is_batchnorm(backend):
    """Without a process group (or in eval) SyncBatchNorm is BatchNorm: same output,
    same running statistics; convert_sync_batchnorm shares the parameters."""
    xpnn.manual_seed(0)

    def build():
        return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.InstanceNorm2d(3),
                             nn.ReLU(), nn.Flatten(), nn.Linear(12, 4), nn.BatchNorm1d(4))
    model, ref = build(), build()
    ref.load_state_dict(model.state_dict())
    weight = model[1].weight
    out = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert out is model and type(model[1]) is nn.SyncBatchNorm
    assert type(model[6]) is nn.SyncBatchNorm and type(model[2]) is nn.InstanceNorm2d
    assert model[1].weight is weight and list(model.state_dict()) == list(ref.state_dict())
    x = xpnn.tensor(np.random.default_rng(0).standard_normal((5, 1, 4, 4)).astype(np.float32))
    for net in (model, ref):
        net(x).sum().backward()
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    bn = nn.SyncBatchNorm(3)
    assert nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(3)).__class__ is \
        nn.SyncBatchNorm and isinstance(bn, nn.Module)
    with pytest.raises(ValueError, match="SyncBatchNorm.*C=3"):
        bn.eval()(xpnn.zeros(2, 4, 2))
