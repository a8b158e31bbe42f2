"""Exception classes that are both the Python error a reader expects and PyTorch's.

PyTorch raises RuntimeError for most bad shapes, sizes and dtypes (and IndexError or
RuntimeError for out-of-range indices), where Python code would raise ValueError, TypeError
or IndexError. xpnn's ops raise these classes, subclasses of both, so ``except RuntimeError``
written for PyTorch and ``except ValueError`` written for xpnn both catch them.
"""


class ShapeError(ValueError, RuntimeError):
    """A shape, size or dim that does not fit (torch: RuntimeError)."""


class DtypeError(TypeError, RuntimeError):
    """An op given a dtype it does not support (torch: RuntimeError)."""


class IndexRangeError(IndexError, RuntimeError):
    """An index out of range where torch raises RuntimeError (gather, scatter, ...)."""


class ZeroDivision(ZeroDivisionError, RuntimeError):
    """Integer division by zero (torch: RuntimeError "ZeroDivisionError")."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value torch refuses with RuntimeError (a reduce name, clamp's missing
    bounds, ...)."""


class DtypeNotImplemented(DtypeError, NotImplementedError):
    """An op whose kernel lacks the dtype given (torch: NotImplementedError "... not
    implemented for 'Long'"); still a TypeError, as xpnn raised before."""


class BackendError(RuntimeError):
    """A backend is not installed, or has no such device (xpnn.backend.BackendError)."""


class IndexShapeError(ShapeError, IndexError):
    """An index tensor of the wrong shape where torch raises IndexError (index_select's
    2-D index, index_copy's source, advanced indices that do not broadcast)."""


class IndexDtypeError(DtypeError, IndexError):
    """An index tensor of a wrong dtype where torch raises IndexError (index_fill)."""


class UnsupportedError(ArgumentError, NotImplementedError):
    """A mode or input rank torch refuses with NotImplementedError (interpolate's and pad's
    modes); still a ValueError, as xpnn raised before."""


class ShapeAssertionError(ShapeError, AssertionError):
    """A shape torch checks with ``assert`` (Embedding's ``_weight``, from_pretrained)."""


class MissingFolderError(FileNotFoundError, RuntimeError):
    """save to a folder that does not exist (torch: RuntimeError "Parent directory ... does
    not exist")."""


class NotIntError(TypeError, ValueError):
    """A size or count that is not an int (torch: TypeError; xpnn raised ValueError)."""


class IntOverflowError(OverflowError, ValueError):
    """A Python int beyond the range of the dtype it must fit (torch: ValueError "Overflow
    when unpacking long long"); still the OverflowError NumPy raises."""


class DtypeValueError(DtypeNotImplemented, ValueError):
    """A dtype an op refuses where torch raises ValueError (binomial's count and prob);
    still the DtypeNotImplemented xpnn raised before."""
