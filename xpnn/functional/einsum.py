"""``einsum``: Einstein summation, planned as the differentiable ops it reduces to.

The equation is parsed once (``...`` and the implicit output included). Each operand first
loses its repeated letters (a diagonal) and the letters no other operand or the output uses
(a sum); then the operands are contracted left to right, two at a time, as one batched matmul
each: letters both share and still need are the batch, letters both share and nobody needs
later are summed by the product. Size-1 dims broadcast. The output is a final permute.
"""
from __future__ import annotations

import math
import string

from ..autograd import TensorBase, as_tensor
from .._errors import ArgumentError, DtypeError, ShapeError
from ..dtypes import dtype_name
from .linalg import matmul
from .reduce import sum as _sum
from .shape import expand, permute, reshape

_LETTERS = set(string.ascii_letters)


def _parse(equation, ndims):
    """(input letter lists, output letter list); '...' becomes placeholder letters, the
    same trailing ones for every operand (broadcast from the right)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ArgumentError(f"einsum: equation {equation!r} has {len(terms)} operand terms but "
                            f"{len(ndims)} operands were given")
    n_ell = max((nd - len(t.replace("...", "")) for t, nd in zip(terms, ndims)
                 if "..." in t), default=0)
    ell = [chr(0x100 + j) for j in range(n_ell)]  # placeholders outside a-zA-Z
    inputs = []
    for i, (t, nd) in enumerate(zip(terms, ndims)):
        if t.count("...") > 1:
            raise ArgumentError(f"einsum: operand term {t!r} has more than one '...'")
        head, dots, tail = t.partition("...")
        k = nd - len(head) - len(tail)
        bad = [c for c in head + tail if c not in _LETTERS]
        if bad or (not dots and k != 0) or k < 0:
            raise ShapeError(f"einsum: term {t!r} does not fit operand {i} with {nd} dims "
                             "(one letter a-z/A-Z per dim, '...' for the rest)")
        inputs.append(list(head) + ell[n_ell - k:] + list(tail))
    if arrow:
        head, dots, tail = rhs.partition("...")
        out = list(head) + (ell if dots else []) + list(tail)
        if [c for c in head + tail if c not in _LETTERS] or len(set(out)) != len(out):
            raise ArgumentError(f"einsum: output term {rhs!r} must list distinct letters")
    else:  # implicit: '...' first, then the letters used once, in alphabetical order
        seen = [c for term in inputs for c in term]
        out = ell + sorted(c for c in set(seen) if c in _LETTERS and seen.count(c) == 1)
    used = {c for term in inputs for c in term}
    missing = [c for c in out if c not in used]
    if missing:
        raise ArgumentError(f"einsum: output letters {missing} appear in no operand")
    return inputs, out


def _from_sublists(args):
    """PyTorch's sublist form (op, sublist, op, sublist, ..., [output sublist]) as an
    equation and its operands."""
    def term(sub):
        if not isinstance(sub, (list, tuple)):
            raise TypeError(f"einsum: expected a sublist (a list of ints) after each operand, "
                            f"got {type(sub).__name__}")
        out = []
        for d in sub:
            if d is Ellipsis:
                out.append("...")
            elif isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 52:
                out.append(string.ascii_letters[d])
            else:
                raise ArgumentError(f"einsum: subscript in subscript list is not within the "
                                    f"valid range [0, 52), got {d!r}")
        return "".join(out)
    pairs, rest = args[:len(args) // 2 * 2], args[len(args) // 2 * 2:]
    eq = ",".join(term(sub) for sub in pairs[1::2])
    if rest:
        eq += "->" + term(rest[0])
    return eq, tuple(pairs[0::2])


def _squeeze_repeats(x, letters):
    """Take the diagonal over each letter an operand repeats (``ii`` -> ``i``)."""
    from .rearrange import _diagonal
    while len(set(letters)) != len(letters):
        c = next(c for c in letters if letters.count(c) > 1)
        a = letters.index(c)
        b = letters.index(c, a + 1)
        if x.shape[a] != x.shape[b]:
            raise ShapeError(f"einsum: letter {c!r} names dims of sizes {x.shape[a]} and "
                             f"{x.shape[b]}")
        x = _diagonal(x, 0, a, b)
        letters = [d for i, d in enumerate(letters) if i not in (a, b)] + [c]
    return x, letters


def _sum_out(x, letters, keep):
    drop = [i for i, c in enumerate(letters) if c not in keep]
    if not drop:
        return x, letters
    return _sum(x, dim=tuple(drop)), [c for c in letters if c in keep]


def _broadcast(x, letters, sizes):
    """Expand x's size-1 dims to the letters' common sizes."""
    want = tuple(sizes[c] for c in letters)
    return (x, letters) if want == x.shape else (expand(x, want), letters)


def _contract(a, la, b, lb, keep, sizes):
    """a (letters la) times b (letters lb), summing shared letters not in ``keep``."""
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    only_a = [c for c in la if c not in lb]
    only_b = [c for c in lb if c not in la]
    a = permute(a, [la.index(c) for c in batch + only_a + summed])
    b = permute(b, [lb.index(c) for c in batch + summed + only_b])

    def n(cs):
        return math.prod(sizes[c] for c in cs)
    y = matmul(reshape(a, (n(batch), n(only_a), n(summed))),
               reshape(b, (n(batch), n(summed), n(only_b))))
    letters = batch + only_a + only_b
    return reshape(y, tuple(sizes[c] for c in letters)), letters


def einsum(equation, *operands):
    """Einstein summation, as ``torch.einsum``: ``einsum("bij,bjk->bik", a, b)``.

    Args:
        equation: comma-separated operand terms, one letter per dim ('...' for leading
            broadcast dims), optionally ``->`` and the output letters (default: '...' then
            the letters used once, sorted).
        operands: the tensors (or one list of them). PyTorch's sublist form
            ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (ints 0-51 for letters, ``...``) too.
        The operands must share one dtype, as in PyTorch.
    Returns:
        the result, differentiable in every operand.
    """
    if not isinstance(equation, str) and operands:
        equation, operands = _from_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a string, got {type(equation).__name__}")
    if not operands:
        raise ValueError("einsum: expected at least one operand")
    like = next((t for t in operands if isinstance(t, TensorBase)), None)
    xs = [as_tensor(t, like=like, op="einsum") for t in operands]
    for x in xs[1:]:
        if x.dtype != xs[0].dtype and x._be is xs[0]._be:
            raise DtypeError(f"einsum: expected all operands to have the same dtype, but "
                             f"found {dtype_name(xs[0].dtype)} and {dtype_name(x.dtype)}")
    inputs, out = _parse(equation, [x.ndim for x in xs])
    sizes = {}
    for i, (x, letters) in enumerate(zip(xs, inputs)):
        for c, n in zip(letters, x.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ShapeError(f"einsum: letter {c!r} has size {sizes[c]} in one operand and "
                                 f"{n} in operand {i}")
            if sizes.get(c, 1) == 1:  # size 1 broadcasts (to 0 too)
                sizes[c] = n
    terms = []
    for i, (x, letters) in enumerate(zip(xs, inputs)):
        x, letters = _squeeze_repeats(x, letters)
        others = set(out).union(*[set(t) for j, t in enumerate(inputs) if j != i])
        terms.append(_sum_out(x, letters, others))
    y, ly = _broadcast(*terms[0], sizes)
    for j in range(1, len(terms)):
        b, lb = _broadcast(*terms[j], sizes)
        keep = set(out).union(*[set(t) for _, t in terms[j + 1:]])
        y, ly = _sum_out(y, ly, keep | set(lb))
        b, lb = _sum_out(b, lb, keep | set(ly))
        y, ly = _contract(y, ly, b, lb, keep, sizes)
    y, ly = _sum_out(y, ly, set(out))
    return permute(y, [ly.index(c) for c in out]) if ly != out else y
