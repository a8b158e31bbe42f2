"""xpnn.backends: PyTorch's ``torch.backends`` switches, so programs that set them run.

``mps`` (Apple GPUs) is never available; ``cudnn``'s flags are accepted and recorded (the
torch backend passes them on to torch; CuPy's convolutions read ``benchmark``);
``cuda.matmul.allow_tf32`` is the float32 matmul precision; ``mkldnn``, ``openmp``, ``mkl``,
``cpu`` and ``opt_einsum`` answer for NumPy's kernels (cpu_libs.py)."""
from . import cuda, cudnn, mps
from .cpu_libs import cpu, mkl, mkldnn, openmp, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
