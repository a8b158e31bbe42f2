"""xpnn.backends: PyTorch's ``torch.backends`` switches, so programs that set them run.

``mps`` (Apple GPUs) is never available; ``cudnn``'s flags are accepted and recorded (the
torch backend passes them on to torch; CuPy's convolutions read ``benchmark``);
``cuda.matmul.allow_tf32`` is the float32 matmul precision."""
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
