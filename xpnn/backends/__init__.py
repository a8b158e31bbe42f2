"""xpnn.backends: PyTorch's ``torch.backends`` switches, so programs that set them run.

``mps`` (Apple GPUs) is never available; ``cudnn``'s flags are accepted and recorded (the
torch backend passes them on to torch; CuPy's convolutions read ``benchmark``)."""
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
