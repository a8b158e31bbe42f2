"""DLPack: Tensor.__dlpack__/__dlpack_device__, xpnn.from_dlpack and xpnn.utils.dlpack share
memory with NumPy, PyTorch and array-api-strict (a write through one view is seen through the
other), and a device mismatch gives a clear error."""
import numpy as np
import pytest

import xpnn
from xpnn.backend import BackendError
from xpnn.utils import dlpack

torch = pytest.importorskip("torch")
strict = pytest.importorskip("array_api_strict")

KDL_CPU, KDL_CUDA, KDL_ROCM = 1, 2, 10


def _grid(dtype=np.float32):
    return np.arange(6, dtype=dtype).reshape(2, 3)


# -- into xpnn ----------------------------------------------------------------------------
def test_from_numpy_shares_memory_both_ways():
    a = _grid()
    t = xpnn.from_dlpack(a)
    assert t.backend == "numpy" and t.shape == (2, 3) and t.dtype == xpnn.float32
    assert np.shares_memory(t.array, a)
    a[0, 0] = 10
    assert t.numpy()[0, 0] == 10
    with xpnn.no_grad():
        t[1, 2] = -1.0
        t.mul_(2)
    assert a[1, 2] == -2 and a[0, 0] == 20


@pytest.mark.parametrize("backend", [None, "numpy", "torch"])
def test_from_torch_shares_memory_both_ways(backend):
    src = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    t = xpnn.from_dlpack(src, backend=backend)
    assert t.backend == (backend or "numpy")
    src[0, 1] = 7
    assert t.numpy()[0, 1] == 7
    with xpnn.no_grad():
        t.add_(1)
    assert src[0, 1].item() == 8 and src[1, 2].item() == 6


def test_from_array_api_strict_shares_memory_both_ways():
    src = strict.asarray(_grid(np.float64))
    t = xpnn.from_dlpack(src, backend="array_api_strict")
    assert t.backend == "array_api_strict" and xpnn.backend.dtype_name(t.dtype) == "float64"
    src[0, 0] = 9.0
    assert t.numpy()[0, 0] == 9
    with xpnn.no_grad():
        t[1, 0] = -3.0
    assert float(src[1, 0]) == -3


# -- out of xpnn --------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
def test_numpy_reads_and_writes_an_xpnn_tensor(backend):
    t = xpnn.tensor(_grid(), backend=backend)
    assert t.__dlpack_device__() == (KDL_CPU, 0)
    a = np.from_dlpack(t)
    a[0, 2] = 5
    assert t.numpy()[0, 2] == 5
    with xpnn.no_grad():
        t[1, 1] = -4.0
    assert a[1, 1] == -4


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_torch_reads_and_writes_an_xpnn_tensor(backend):
    t = xpnn.tensor(_grid(), backend=backend)
    for view in (torch.from_dlpack(t), torch.utils.dlpack.from_dlpack(dlpack.to_dlpack(t))):
        view[1, 0] = 42
        assert t.numpy()[1, 0] == 42
        with xpnn.no_grad():
            t.fill_(1.5)
        assert bool((view == 1.5).all())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8,
                                   np.bool_])
def test_dtypes_and_values_survive(dtype):
    a = (_grid(np.float64) % 2 if dtype is np.bool_ else _grid(np.float64)).astype(dtype)
    t = xpnn.from_dlpack(a)
    assert xpnn.backend.dtype_name(t.dtype) == np.dtype(dtype).name
    back = np.from_dlpack(t)
    assert back.dtype == a.dtype and np.array_equal(back, a)


def test_strided_views_keep_their_layout():
    t = xpnn.tensor(_grid()).T  # a transposed view: not C-contiguous
    a = np.from_dlpack(t)
    assert a.shape == (3, 2) and np.shares_memory(a, t.array)
    np.testing.assert_array_equal(a, _grid().T)
    zero_d = np.from_dlpack(xpnn.tensor(3.0))
    assert zero_d.shape == () and zero_d == 3


def test_copy_request_gives_independent_memory():
    t = xpnn.tensor([1.0, 2.0, 3.0])
    c = np.from_dlpack(t, copy=True)
    c[0] = 7
    assert t.numpy()[0] == 1


def test_utils_dlpack_has_pytorch_names():
    assert dlpack.from_dlpack is xpnn.from_dlpack
    assert callable(dlpack.to_dlpack)


# -- errors -------------------------------------------------------------------------------
def test_not_a_producer():
    with pytest.raises(TypeError, match="list is not a DLPack producer"):
        xpnn.from_dlpack([1.0, 2.0])


@pytest.mark.parametrize("backend, device", [("array_api_strict", "device1"),
                                             ("torch", "meta")])
def test_host_memory_for_a_device_backend_is_refused(backend, device):
    with pytest.raises(BackendError, match=r"lives in host memory; backend .* is not on the "
                                           r"host"):
        xpnn.from_dlpack(_grid(), backend=backend, device=device)


class _Producer:
    """Host data that claims to live on another device (what a GPU library hands over)."""

    def __init__(self, kind):
        self.kind, self.data = kind, _grid()

    def __dlpack__(self, **kwargs):
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.kind, 0


def _no_cupy():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return
    pytest.skip("CuPy is installed: this machine can take CUDA memory")


def test_cuda_memory_without_cupy_names_the_missing_backend():
    _no_cupy()
    with pytest.raises(BackendError, match="'cupy' is not installed"):
        xpnn.from_dlpack(_Producer(KDL_CUDA))


def test_cuda_memory_for_a_host_backend_is_refused():
    _no_cupy()
    with pytest.raises(BackendError, match="lives on CUDA device 0"):
        xpnn.from_dlpack(_Producer(KDL_CUDA), backend="numpy")


def test_unknown_device_type_is_refused():
    with pytest.raises(BackendError, match="device type 10"):
        xpnn.from_dlpack(_Producer(KDL_ROCM))


def test_capsule_round_trip():
    t = xpnn.tensor([1.0, 2.0])
    back = dlpack.from_dlpack(dlpack.to_dlpack(t))
    assert np.shares_memory(back.array, t.array)
