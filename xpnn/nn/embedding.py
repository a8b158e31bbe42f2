"""Embedding: a learned table of vectors indexed by integer ids (torch.nn.Embedding), and
EmbeddingBag, which reduces bags of them."""
from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd import no_grad
from ..tensor import Tensor
from ..functional.embedding import PaddingIdxError, lookup
from .._errors import DtypeError, ShapeAssertionError
from . import init
from .module import Module, Parameter, check_int, new_parameter


def _pretrained(name, embeddings):
    """(the (V, D) array of ``embeddings``, a Tensor or any backend's array, its backend)."""
    data = embeddings.array if isinstance(embeddings, Tensor) else embeddings
    if len(data.shape) != 2:
        raise ShapeAssertionError(f"{name}.from_pretrained: embeddings must be 2-D (V, D), "
                                  f"got shape {tuple(data.shape)}")
    return data, (B.backend_of(data) if B.is_array(data) else B.get_backend(None))


class Embedding(Module):
    """Look up ``weight[ids]``.

    Args:
        num_embeddings: vocabulary size V (int >= 1).
        embedding_dim: vector size D (int >= 1).
        padding_idx: a row initialised to zero that never receives a gradient (negative
            counts from the end), or None.
        max_norm, norm_type: rows looked up whose norm exceeds max_norm are scaled to it in
            the table, in place (PyTorch's renorm); scale_grad_by_freq: each row's gradient
            divided by its id's count in the batch; sparse: the weight's ``.grad`` is a
            sparse COO tensor (one entry per id read), for optim.SparseAdam/SGD/Adagrad.
        _weight, _freeze: a (V, D) table to start from (requires_grad = not _freeze).
        backend, device, dtype: where the table lives (default backend, float32).
    Shapes: ids of any shape, integers in [0, V) -> ids.shape + (D,).
    Init (PyTorch's): weight ~ N(0, 1), the padding row zeroed.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None, *, backend=None):
        super().__init__()
        if max_norm is not None and (isinstance(max_norm, bool) or
                                     not isinstance(max_norm, (int, float)) or max_norm < 0):
            raise ValueError(f"Embedding: max_norm must be a number >= 0 or None, got "
                             f"{max_norm!r}")
        self.max_norm, self.norm_type = max_norm, float(norm_type)
        self.scale_grad_by_freq, self.sparse = bool(scale_grad_by_freq), bool(sparse)
        V = self.num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or \
                    not -V <= padding_idx < V:
                raise PaddingIdxError(f"Embedding: padding_idx must be an int in [-{V}, {V}), "
                                      f"got {padding_idx!r}")
            padding_idx %= V
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = new_parameter((V, embedding_dim), backend, device, dtype)
            self.reset_parameters()
        else:
            data, be = _pretrained("Embedding", _weight)
            if tuple(data.shape) != (V, self.embedding_dim):
                raise ShapeAssertionError(f"Embedding: _weight of shape {tuple(data.shape)} "
                                          f"does not match (num_embeddings, embedding_dim) = "
                                          f"({V}, {self.embedding_dim})")
            self.weight = Parameter(be.asarray(data, dtype=data.dtype),
                                    requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is ``embeddings`` (V, D) (any backend's array or Tensor);
        ``freeze`` turns off its gradient."""
        data, be = _pretrained("Embedding", embeddings)
        emb = cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type,
                  scale_grad_by_freq, sparse, backend=be.name, device=be.device,
                  dtype=B.dtype_name(data.dtype))
        emb.weight = Parameter(be.asarray(data, dtype=data.dtype), requires_grad=not freeze)
        return emb

    def forward(self, input):
        """Args: ids, integer Tensor/array of any shape. Returns ids.shape + (D,)."""
        if isinstance(input, Tensor):
            data = input.array
        else:
            data = input
        if B.is_array(data) and not B.backend_of(data).xp.isdtype(data.dtype, "integral"):
            raise DtypeError(f"Embedding: ids must be integers, got dtype {data.dtype} "
                             f"(shape {tuple(data.shape)})")
        return lookup(repr(self), data, self.weight, self.padding_idx, True, self.max_norm,
                      self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):  # PyTorch's: the options away from their defaults
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (torch.nn.EmbeddingBag).

    Args:
        num_embeddings, embedding_dim: V and D (ints >= 1).
        max_norm, norm_type: the rows each call reads whose norm exceeds max_norm are scaled
            to it in the table, in place (PyTorch's renorm, as nn.Embedding's).
        scale_grad_by_freq: only PyTorch's default (False).
        mode: "sum", "mean" (default) or "max".
        sparse: the weight's ``.grad`` is a sparse COO tensor ("sum"/"mean" only).
        include_last_offset: offsets carry a last entry, len(input).
        padding_idx: ids left out of their bags; that row starts at zero.
        backend, device, dtype: where the table lives.
    forward(input, offsets=None, per_sample_weights=None): as F.embedding_bag -> (B, D).
    Init (PyTorch's): weight ~ N(0, 1), the padding row zeroed.
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, *, backend=None, device=None,
                 dtype=None):
        super().__init__()
        name = "EmbeddingBag"
        V = self.num_embeddings = check_int(name, "num_embeddings", num_embeddings)
        self.embedding_dim = check_int(name, "embedding_dim", embedding_dim)
        for arg, value, default in (("scale_grad_by_freq", scale_grad_by_freq, False),
                                    ("_weight", _weight, None)):
            if (value is not None) if default is None else value != default:
                raise NotImplementedError(f"{name}: {arg}={value!r} is not supported by xpnn "
                                          f"(only {arg}={default!r})")
        if max_norm is not None and (isinstance(max_norm, bool) or
                                     not isinstance(max_norm, (int, float)) or max_norm < 0):
            raise ValueError(f"{name}: max_norm must be a number >= 0 or None, got "
                             f"{max_norm!r}")
        self.max_norm, self.norm_type = max_norm, float(norm_type)
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"{name}: mode has to be one of 'sum', 'mean' or 'max', got "
                             f"{mode!r}")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or \
                    not -V <= padding_idx < V:
                raise PaddingIdxError(f"{name}: padding_idx must be an int in [-{V}, {V}), "
                                      f"got {padding_idx!r}")
            padding_idx %= V
        self.mode, self.padding_idx, self.sparse = mode, padding_idx, bool(sparse)
        self.include_last_offset = bool(include_last_offset)
        self.weight = new_parameter((V, embedding_dim), backend, device, dtype)
        self.reset_parameters()

    reset_parameters = Embedding.reset_parameters

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose table is ``embeddings`` (V, D) (a Tensor or any backend's
        array), as ``torch.nn.EmbeddingBag.from_pretrained``; ``freeze`` turns off its
        gradient. The padding row is kept as given."""
        data, be = _pretrained("EmbeddingBag", embeddings)
        bag = cls(data.shape[0], data.shape[1], max_norm, norm_type, scale_grad_by_freq, mode,
                  sparse, None, include_last_offset, padding_idx, backend=be.name,
                  device=be.device, dtype=B.dtype_name(data.dtype))
        bag.weight = Parameter(be.asarray(data, dtype=data.dtype), requires_grad=not freeze)
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               mode=self.mode, per_sample_weights=per_sample_weights,
                               include_last_offset=self.include_last_offset,
                               padding_idx=self.padding_idx, sparse=self.sparse)

    def extra_repr(self):
        norm = "" if self.max_norm is None else f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            norm += f", norm_type={self.norm_type}"
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{norm}, mode={self.mode!r}{pad}"
