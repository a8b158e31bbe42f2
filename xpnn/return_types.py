"""``torch.return_types``: the named tuples that ops with several results return
(``values, indices = x.sort()``, ``x.max(1).indices``, ``torch.linalg.qr(A).Q``).

Each type is a :func:`collections.namedtuple` named as PyTorch's and printed in PyTorch's
layout, one field per line::

    xpnn.return_types.sort(
    values=tensor([1., 3.]),
    indices=tensor([1, 0]))

Ops of ``torch`` and ``torch.linalg`` with the same result have distinct types, as in
PyTorch (``qr`` and ``linalg_qr``; ``svd`` with V and ``linalg_svd`` with Vh).
"""
from __future__ import annotations

from collections import namedtuple


def _repr(self):
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"{type(self).__module__}.{type(self).__name__}(\n{fields})"


def _return_type(name, fields):
    base = namedtuple(name, fields, module=__name__)

    def __new__(cls, *args, **kwargs):
        # PyTorch's form takes one sequence (``sort((values, indices))``); the namedtuple's
        # takes the fields (``sort(values, indices)``): both work
        if len(args) == 1 and not kwargs and isinstance(args[0], (tuple, list)):
            args = tuple(args[0])
        return base.__new__(cls, *args, **kwargs)

    return type(name, (base,), {"__slots__": (), "__new__": __new__, "__repr__": _repr,
                                "__str__": _repr, "__module__": __name__,
                                "__qualname__": name, "__doc__": f"torch.return_types.{name}: "
                                f"({', '.join(fields)})"})


aminmax = _return_type("aminmax", ["min", "max"])
cummax = _return_type("cummax", ["values", "indices"])
cummin = _return_type("cummin", ["values", "indices"])
frexp = _return_type("frexp", ["mantissa", "exponent"])
geqrf = _return_type("geqrf", ["a", "tau"])
histogram = _return_type("histogram", ["hist", "bin_edges"])
histogramdd = _return_type("histogramdd", ["hist", "bin_edges"])
kthvalue = _return_type("kthvalue", ["values", "indices"])
linalg_cholesky_ex = _return_type("linalg_cholesky_ex", ["L", "info"])
linalg_eig = _return_type("linalg_eig", ["eigenvalues", "eigenvectors"])
linalg_eigh = _return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])
linalg_inv_ex = _return_type("linalg_inv_ex", ["inverse", "info"])
linalg_ldl_factor = _return_type("linalg_ldl_factor", ["LD", "pivots"])
linalg_ldl_factor_ex = _return_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
linalg_lstsq = _return_type("linalg_lstsq",
                            ["solution", "residuals", "rank", "singular_values"])
linalg_lu = _return_type("linalg_lu", ["P", "L", "U"])
linalg_lu_factor = _return_type("linalg_lu_factor", ["LU", "pivots"])
linalg_lu_factor_ex = _return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
linalg_qr = _return_type("linalg_qr", ["Q", "R"])
linalg_slogdet = _return_type("linalg_slogdet", ["sign", "logabsdet"])
linalg_solve_ex = _return_type("linalg_solve_ex", ["result", "info"])
linalg_svd = _return_type("linalg_svd", ["U", "S", "Vh"])
lu_unpack = _return_type("lu_unpack", ["P", "L", "U"])
max = _return_type("max", ["values", "indices"])
median = _return_type("median", ["values", "indices"])
min = _return_type("min", ["values", "indices"])
mode = _return_type("mode", ["values", "indices"])
nanmedian = _return_type("nanmedian", ["values", "indices"])
qr = _return_type("qr", ["Q", "R"])
slogdet = _return_type("slogdet", ["sign", "logabsdet"])
sort = _return_type("sort", ["values", "indices"])
svd = _return_type("svd", ["U", "S", "V"])
topk = _return_type("topk", ["values", "indices"])
triangular_solve = _return_type("triangular_solve", ["solution", "cloned_coefficient"])

all_return_types = (aminmax, cummax, cummin, frexp, geqrf, histogram, histogramdd, kthvalue,
                    linalg_cholesky_ex, linalg_eig, linalg_eigh, linalg_inv_ex, linalg_ldl_factor,
                    linalg_ldl_factor_ex, linalg_lstsq, linalg_lu, linalg_lu_factor,
                    linalg_lu_factor_ex, linalg_qr, linalg_slogdet, linalg_solve_ex, linalg_svd,
                    lu_unpack, max, median, min, mode, nanmedian, qr, slogdet, sort, svd, topk,
                    triangular_solve)

__all__ = [t.__name__ for t in all_return_types] + ["all_return_types"]
