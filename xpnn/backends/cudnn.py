"""cuDNN switches as torch.backends.cudnn has them; set them as in PyTorch."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    from .. import cuda
    return cuda.is_available()


def version():
    return None
