#!/usr/bin/env bash
# Install xpnn with every CPU backend and test extra into ./.venv, then run the test suite.
# This is the README's test command; .ci/run calls it after the system packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch==2.13.0 is the local CPU wheel; any other spec would pull GBs of CUDA packages.
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[test,viz,data,onnx,mpi]"
# one worker per core, at most 4 (pytest-xdist; each worker keeps BLAS on one thread, see
# tests/conftest.py); XPNN_TEST_WORKERS=0 runs the suite in this one process
.venv/bin/python -m pytest -n "${XPNN_TEST_WORKERS:-auto}" --maxprocesses 4 --dist worksteal "$@"
