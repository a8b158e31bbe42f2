#!/usr/bin/env bash
# The GPU suite, for a machine with CUDA, CuPy and PyTorch: every test with the cupy and
# torch:cuda backends added to the `backend` fixture, then the GPU benchmarks. Extra pytest
# arguments pass through (with pytest-xdist: -n 14 -p no:benchmark, since pytest-benchmark
# warns under xdist and the suite turns warnings into errors). Pure-Python wheels that the
# machine lacks (array-api-compat, array-api-strict, ...) can be carried in .whl/ and are
# installed into /tmp/site first.
set -euo pipefail
cd "$(dirname "$0")/.."
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
python3 -c "import cupy; print('cupy', cupy.__version__, cupy.cuda.runtime.getDeviceCount(), 'GPU(s)')"
python3 -m pytest -q -p no:cacheprovider "$@"
# the four models of issue 15 on cupy and PyTorch CUDA, same process, alternating rounds
python3 benchmarks/gpu.py
# data parallelism through NCCL, one rank on one GPU (needs the mpi extra); Open MPI's
# mpiexec refuses root (GPU machines often run commands as root) unless told
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
python3 benchmarks/ddp.py --backend cupy --dist-backend nccl --ranks 1 --peers xpnn
exit 0
