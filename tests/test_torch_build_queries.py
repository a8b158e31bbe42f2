"""What programs ask PyTorch about its build and kernels before they train, answered as
PyTorch answers on a CPU build:

* ``torch.version`` (``print(torch.version.cuda)`` in environment reports, ``__version__``):
  xpnn.version was missing; pyproject.toml's version (0.1.0) also disagreed with
  ``xpnn.__version__`` (0.2.0): one version now, in xpnn/version.py.
* ``torch.cuda.is_bf16_supported()`` (LLM fine-tuning scripts pick bfloat16 or float16 by
  it) was missing: False without CUDA and on CuPy (no bfloat16 dtype there).
* ``torch.nn.attention.sdpa_kernel`` / ``SDPBackend`` were missing. They now switch the same
  flags as ``torch.backends.cuda.enable_*_sdp`` (which were recorded and ignored before):
  with MATH and every fused kernel off, scaled_dot_product_attention raises as PyTorch's.
"""
import re
from pathlib import Path

import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")

from xpnn.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.nn.attention import SDPBackend as TSDPBackend  # noqa: E402
from torch.nn.attention import sdpa_kernel as t_sdpa_kernel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def test_version_module():
    assert xpnn.version.__version__ == xpnn.__version__
    assert xpnn.version.hip is None and xpnn.version.debug is False
    cuda = xpnn.version.cuda  # None without a CuPy that can load a CUDA runtime
    assert cuda is None or re.fullmatch(r"\d+\.\d+", cuda)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        xpnn.version.nope


def test_one_version_everywhere():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', text, re.M).group(1) == xpnn.__version__


def test_is_bf16_supported_without_cuda():
    if xpnn.cuda.is_available():
        pytest.skip("a GPU is present: the answer is the device's")
    assert xpnn.cuda.is_bf16_supported() is torch.cuda.is_bf16_supported() is False
    assert xpnn.cuda.is_bf16_supported(including_emulation=False) is False


def test_sdp_backend_names_and_values():
    assert {n: b.value for n, b in SDPBackend.__members__.items()} == \
        {n: b.value for n, b in TSDPBackend.__members__.items()}


Q = np.random.default_rng(0).standard_normal((2, 2, 4, 8)).astype(np.float32)


def _runs(lib, F, backends):
    q = lib.tensor(Q)
    try:
        with (sdpa_kernel if lib is xpnn else t_sdpa_kernel)(backends):
            return F.scaled_dot_product_attention(q, q, q).shape
    except RuntimeError:
        return "raises"


@pytest.mark.parametrize("names", [["MATH"], ["FLASH_ATTENTION"], ["ERROR"], ["OVERRIDEABLE"],
                                   [], ["MATH", "FLASH_ATTENTION"], ["ERROR", "MATH"]],
                         ids=lambda n: "+".join(n) or "none")
def test_sdpa_kernel_as_torch_on_cpu(names):
    """Where PyTorch's CPU build runs or raises, so does xpnn (its kernel is the math one)."""
    want = _runs(torch, torch.nn.functional, [getattr(TSDPBackend, n) for n in names])
    got = _runs(xpnn, xpnn.nn.functional, [getattr(SDPBackend, n) for n in names])
    assert (got == "raises") == (want == "raises")
    if got != "raises":
        assert tuple(got) == tuple(want)


@pytest.mark.parametrize("name", ["EFFICIENT_ATTENTION", "CUDNN_ATTENTION"])
def test_sdpa_kernel_fused_only_runs(name):
    """PyTorch's CPU build has no such kernel and raises; xpnn's one kernel computes what
    those compute, so it runs (module docstring of functional/sdpa_backends.py)."""
    q = xpnn.tensor(Q)
    with sdpa_kernel(getattr(SDPBackend, name)):
        out = xpnn.nn.functional.scaled_dot_product_attention(q, q, q)
    want = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(Q),) * 3)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_kernel_sets_and_restores_the_backends_cuda_switches():
    cuda = xpnn.backends.cuda
    tc = torch.backends.cuda
    for lib, ctx, B in ((xpnn, sdpa_kernel, SDPBackend), (torch, t_sdpa_kernel, TSDPBackend)):
        c = cuda if lib is xpnn else tc
        with ctx(B.MATH):
            inside = (c.flash_sdp_enabled(), c.math_sdp_enabled(), c.mem_efficient_sdp_enabled(),
                      c.cudnn_sdp_enabled())
        after = (c.flash_sdp_enabled(), c.math_sdp_enabled(), c.mem_efficient_sdp_enabled(),
                 c.cudnn_sdp_enabled())
        assert inside == (False, True, False, False) and after == (True, True, True, True)


def test_enable_sdp_switches_reach_the_kernel():
    cuda = xpnn.backends.cuda
    q = xpnn.tensor(Q)
    try:
        for off in (cuda.enable_math_sdp, cuda.enable_flash_sdp, cuda.enable_mem_efficient_sdp):
            off(False)
            xpnn.nn.functional.scaled_dot_product_attention(q, q, q)  # cuDNN still on
        cuda.enable_cudnn_sdp(False)
        with pytest.raises(RuntimeError, match="scaled_dot_product_attention: no viable"):
            xpnn.nn.functional.scaled_dot_product_attention(q, q, q)
    finally:
        for on in (cuda.enable_math_sdp, cuda.enable_flash_sdp, cuda.enable_mem_efficient_sdp,
                   cuda.enable_cudnn_sdp):
            on(True)
    xpnn.nn.functional.scaled_dot_product_attention(q, q, q)


@pytest.mark.parametrize("bad", ["math", 3, ["math"], [SDPBackend.MATH, None]],
                         ids=["str", "int", "list-str", "list-none"])
def test_sdpa_kernel_refuses_other_things(bad):
    with pytest.raises(TypeError, match="sdpa_kernel: backends must be an SDPBackend"):
        with sdpa_kernel(bad):
            pass
    assert xpnn.backends.cuda.math_sdp_enabled()  # nothing was switched


# -- legacy typed classes, the default tensor type, torch.cuda's memory and timing ----------
# * ``isinstance(x, torch.FloatTensor)`` raised TypeError (the legacy names were functions):
#   they are classes now, whose isinstance checks dtype and device as PyTorch's do; the
#   torch.cuda.* ones were missing, as were CharTensor and BFloat16Tensor.
# * ``torch.set_default_tensor_type`` was missing.
# * ``torch.cuda.memory_allocated`` and the other memory figures, ``torch.cuda.Event``,
#   ``Stream``, ``stream`` and ``current_stream`` were missing.

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
          "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]
DTYPES = ["float32", "float64", "int64", "int32", "bool"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_type_isinstance_as_torch(name):
    for dt in DTYPES:
        x, tx = xpnn.zeros(2, dtype=getattr(xpnn, dt)), torch.zeros(2, dtype=getattr(torch, dt))
        assert isinstance(x, getattr(xpnn, name)) == isinstance(tx, getattr(torch, name))
        assert isinstance(x, getattr(xpnn.cuda, name)) is False  # on the host
    assert not isinstance(np.zeros(2), getattr(xpnn, name))
    assert repr(getattr(xpnn, name)) == repr(getattr(torch, name))
    assert repr(getattr(xpnn.cuda, name)) == f"<class 'torch.cuda.{name}'>"


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_type_constructs_and_converts(name):
    cls, tcls = getattr(xpnn, name), getattr(torch, name)
    assert str(cls(2, 3).dtype).rpartition(".")[2] == str(tcls(2, 3).dtype).rpartition(".")[2]
    assert tuple(cls(2, 3).shape) == (2, 3)
    data = [[1, 0], [0, 1]]
    np.testing.assert_array_equal(cls(data).numpy(), tcls(data).numpy())
    x, tx = xpnn.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    np.testing.assert_array_equal(x.type(cls).numpy(), tx.type(tcls).numpy())
    assert x.type(cls).type() == tx.type(tcls).type()
    assert x.type(f"torch.{name}").type() == tx.type(f"torch.{name}").type()


@pytest.mark.filterwarnings("ignore:.*set_default_tensor_type.*deprecated")
def test_set_default_tensor_type_as_torch():
    try:
        for lib in (xpnn, torch):
            lib.set_default_tensor_type(lib.DoubleTensor)
        assert str(xpnn.ones(1).dtype).endswith("float64") and \
            str(xpnn.nn.Linear(2, 2).weight.dtype).endswith("float64")
        for lib in (xpnn, torch):
            lib.set_default_tensor_type("torch.FloatTensor")
        assert str(xpnn.ones(1).dtype).endswith("float32")
        assert xpnn.get_default_dtype() == xpnn.float32
    finally:
        xpnn.set_default_dtype(xpnn.float32)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("bad", ["LongTensor", "torch.Nope", 3, "torch.cuda.FloatTensor"],
                         ids=str)
@pytest.mark.filterwarnings("ignore:.*set_default_tensor_type.*deprecated")
def test_set_default_tensor_type_refuses(bad):
    """Integer types and unknown names as PyTorch refuses them (TypeError); a CUDA type
    without CUDA too (PyTorch's CPU build: TypeError)."""
    if bad == "torch.cuda.FloatTensor" and xpnn.cuda.is_available():
        pytest.skip("a GPU is present")
    arg = getattr(xpnn, bad) if bad == "LongTensor" else bad
    with pytest.raises(TypeError, match="set_default_tensor_type"):
        xpnn.set_default_tensor_type(arg)
    targ = getattr(torch, bad) if bad == "LongTensor" else bad
    with pytest.raises((TypeError, AttributeError)):
        torch.set_default_tensor_type(targ)
    assert str(xpnn.ones(1).dtype).endswith("float32")


def test_set_default_tensor_type_warns_as_torch():
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type.*deprecated"):
            xpnn.set_default_tensor_type(xpnn.FloatTensor)
    finally:
        xpnn.set_default_dtype(xpnn.float32)


MEMORY = ["memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved"]


@pytest.mark.parametrize("name", MEMORY)
def test_cuda_memory_figures_without_cuda(name):
    if xpnn.cuda.is_available():
        pytest.skip("a GPU is present")
    assert getattr(xpnn.cuda, name)() == getattr(torch.cuda, name)() == 0
    assert xpnn.cuda.reset_peak_memory_stats() is None


@pytest.mark.parametrize("make", ["Event", "Stream", "current_stream"])
def test_cuda_events_and_streams_need_cuda(make):
    if xpnn.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match=f"xpnn.cuda.{make}: no CUDA device"):
        getattr(xpnn.cuda, make)()
    with xpnn.cuda.stream(None) as s:  # as torch.cuda.stream(None): nothing happens
        assert s is None


def test_cuda_event_timing_on_a_gpu():
    """The timing idiom of training scripts, on CuPy or torch's CUDA where there is a GPU."""
    if not xpnn.cuda.is_available():
        pytest.skip("no GPU")
    start, end = xpnn.cuda.Event(enable_timing=True), xpnn.cuda.Event(enable_timing=True)
    x = xpnn.randn(256, 256, device="cuda")
    start.record()
    y = x @ x
    end.record()
    end.synchronize()
    assert start.query() and end.query()
    assert start.elapsed_time(end) >= 0.0
    s = xpnn.cuda.Stream()
    with xpnn.cuda.stream(s):
        z = x + 1
    s.synchronize()
    assert float(z.sum()) == pytest.approx(float((x + 1).sum()), rel=1e-5)
    assert xpnn.cuda.memory_allocated() > 0 and \
        xpnn.cuda.max_memory_allocated() >= xpnn.cuda.memory_allocated()
    del y


# -- torch.cuda's device and generator functions, torch.mps / torch.xpu, the CPU-library
# queries of torch.backends, torch.autograd.profiler, torch.utils.benchmark --------------
# Each was missing (AttributeError): get_device_name/properties/capability, mem_get_info,
# set_device, device, get_arch_list, is_initialized, init, ipc_collect, get_rng_state(_all),
# set_rng_state(_all), seed(_all), initial_seed; torch.mps, torch.xpu; backends.mkldnn,
# openmp, mkl, cpu, opt_einsum; autograd.profiler; utils.benchmark.

NEED_CUDA = ["get_device_name", "get_device_properties", "get_device_capability",
             "mem_get_info", "get_rng_state", "initial_seed", "init", "ipc_collect"]


@pytest.mark.parametrize("name", NEED_CUDA)
def test_cuda_queries_raise_without_cuda_as_torch(name):
    if xpnn.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match=f"xpnn.cuda.{name}: no CUDA device"):
        getattr(xpnn.cuda, name)()
    with pytest.raises((RuntimeError, AssertionError, AttributeError)):
        getattr(torch.cuda, name)()


def test_cuda_answers_without_cuda_as_torch():
    if xpnn.cuda.is_available():
        pytest.skip("a GPU is present")
    for name in ("get_rng_state_all", "get_arch_list", "is_initialized", "seed", "seed_all"):
        assert getattr(xpnn.cuda, name)() == getattr(torch.cuda, name)(), name
    assert xpnn.cuda.set_rng_state_all([]) is None
    with xpnn.cuda.device(None):  # None: nothing chosen, as torch.cuda.device(None)... runs
        pass
    with pytest.raises(RuntimeError, match="xpnn.cuda.set_device: no CUDA device"):
        xpnn.cuda.set_device(0)
    with pytest.raises(ValueError, match="expected a cuda device, got 'cpu'"):
        xpnn.cuda.set_device("cpu")
    with pytest.raises(RuntimeError, match="xpnn.cuda.device: no CUDA device"):
        with xpnn.cuda.device(0):
            pass


def test_cuda_device_queries_on_a_gpu():
    if not xpnn.cuda.is_available():
        pytest.skip("no GPU")
    props = xpnn.cuda.get_device_properties(0)
    assert isinstance(xpnn.cuda.get_device_name(0), str) and props.total_memory > 0
    major, minor = xpnn.cuda.get_device_capability()
    assert major >= 3 and xpnn.cuda.get_arch_list()
    free, total = xpnn.cuda.mem_get_info()
    assert 0 < free <= total
    xpnn.cuda.set_device(0)
    with xpnn.cuda.device("cuda:0"):
        x = xpnn.randn(4, device="cuda")
    state = xpnn.cuda.get_rng_state()
    a = xpnn.randn(3, device="cuda")
    xpnn.cuda.set_rng_state(state)
    np.testing.assert_array_equal(a.cpu().numpy(), xpnn.randn(3, device="cuda").cpu().numpy())
    assert len(xpnn.cuda.get_rng_state_all()) == xpnn.cuda.device_count()
    del x


def test_mps_and_xpu_as_on_a_machine_without_them():
    for lib_mod, t_mod in ((xpnn.mps, torch.mps), (xpnn.xpu, torch.xpu)):
        assert lib_mod.is_available() is t_mod.is_available() is False
        assert lib_mod.device_count() == t_mod.device_count() == 0
    assert xpnn.mps.manual_seed(0) is torch.mps.manual_seed(0) is None
    for name in ("synchronize", "empty_cache", "current_allocated_memory", "seed"):
        with pytest.raises(RuntimeError, match=f"xpnn.mps.{name}: no MPS device"):
            getattr(xpnn.mps, name)()
        with pytest.raises(RuntimeError):
            getattr(torch.mps, name)()


def test_backends_cpu_library_queries():
    b = xpnn.backends
    assert b.mkldnn.is_available() is False and b.openmp.is_available() is False
    assert isinstance(b.mkl.is_available(), bool)
    assert b.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    assert b.opt_einsum.is_available() is False and b.opt_einsum.enabled is False
    b.mkldnn.enabled = False  # a flag programs set; recorded
    b.mkldnn.enabled = True


def test_autograd_profiler_as_torch():
    import xpnn.autograd.profiler as prof_mod
    assert prof_mod is xpnn.autograd.profiler
    m = xpnn.nn.Linear(4, 3)
    with xpnn.autograd.profiler.profile(record_shapes=True) as prof:
        with xpnn.autograd.profiler.record_function("forward"):
            m(xpnn.randn(2, 4)).sum().backward()
    names = {e.key for e in prof.key_averages()}
    assert {"forward", "xpnn::Linear", "xpnn::backward"} <= names
    assert "Self CPU" in prof.key_averages().table(sort_by="self_cpu_time_total")
    with xpnn.autograd.profiler.profile(enabled=False) as off:
        m(xpnn.randn(2, 4))
    assert len(off.key_averages()) == 0
    with xpnn.autograd.profiler.emit_nvtx(), xpnn.autograd.profiler.emit_itt():
        pass


def test_benchmark_timer_as_torch():
    from xpnn.utils import benchmark
    from torch.utils import benchmark as tbench
    for lib, bench in ((xpnn, benchmark), (torch, tbench)):
        x = lib.ones(8, 8)
        t = bench.Timer("x @ x", globals={"x": x}, label="mm", sub_label="8",
                        description=lib.__name__)
        m = t.timeit(50)
        assert m.number_per_run == 50 and len(m.times) == 1 and m.mean > 0
        assert m.title == "mm: 8" and m.median == m.mean
        b = t.blocked_autorange(min_run_time=0.02)
        assert len(b.times) >= 1 and sum(b.raw_times) >= 0.02 and b.iqr >= 0
        assert "Median" in repr(b) or len(b.times) == 1
    assert "[----- mm -----]" in str(benchmark.Compare([m for m in (
        benchmark.Timer("1 + 1", label="mm", sub_label="8", description="xpnn").timeit(10),)]))
    before = xpnn.cpu.thread_policy()
    benchmark.Timer("1 + 1", num_threads=1).timeit(5)
    assert xpnn.cpu.thread_policy() == before  # the thread policy comes back
    with pytest.raises(ValueError, match="Python statements only"):
        benchmark.Timer("x", language="c++")
