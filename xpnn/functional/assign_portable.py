"""``flat[pos] = V`` for integer and boolean values on backends without integer-array
assignment (the Array API standard has none): indexing.py's ``assign`` writes floating
values by scatter-adds (repeated positions get their mean); integers and booleans cannot be
averaged, nor can booleans be summed, so here each position keeps one value, its last
write (the order PyTorch's CPU kernel leaves), summed exactly in an integer dtype."""
from __future__ import annotations


def assign_exact(be, flat, pos, V, index_add):
    """``flat`` (n,) with ``flat[pos[e]] = V[e]``, the last ``e`` winning at a repeated
    position; ``pos`` (k,) int64, ``V`` (k,) of flat's dtype or any integer/bool dtype."""
    xp = be.xp
    k = pos.shape[0]
    if k == 0:
        return flat
    order = xp.argsort(pos, stable=True)
    ranked = xp.take(pos, order, axis=0)
    # the last entry of each run of one position in the sorted order
    last_sorted = xp.concat([ranked[1:] != ranked[:-1],
                             xp.ones((1,), dtype=xp.bool, device=pos.device)])
    last = xp.take(last_sorted, xp.argsort(order), axis=0)
    work = xp.int64 if xp.isdtype(V.dtype, "bool") or xp.isdtype(V.dtype, "integral") \
        else V.dtype
    vals = xp.where(last, xp.astype(V, work), xp.zeros((), dtype=work, device=pos.device))
    zeros = xp.zeros(flat.shape, dtype=work, device=pos.device)
    written = index_add(be, zeros, 0, pos, vals)
    hit = index_add(be, xp.zeros(flat.shape, dtype=xp.int64, device=pos.device), 0, pos,
                    xp.astype(last, xp.int64))
    return xp.where(hit > 0, xp.astype(written, flat.dtype), flat)
