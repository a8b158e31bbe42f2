"""Apple's Metal GPUs: xpnn has no MPS backend."""


def is_available():
    return False


def is_built():
    return False
