"""Round 2 of the forward fuzzer's error differences (tests/test_fuzz_forward.py): where torch
2.13 raises, xpnn raises an instance of torch's class (its own dual classes, xpnn._errors,
keep the Python class xpnn raised before), and refuses what torch refuses where computing
would give a wrong kind of result. Each case runs on torch and on xpnn's NumPy backend."""
import math

import pytest

import xpnn

torch = pytest.importorskip("torch")


def _b(lib):
    return lib.tensor([[True, False, True], [False, True, True]])


def _c(lib):
    return lib.tensor([[1.5 - 1j, 2.0], [3j, -1.0]], dtype=lib.complex64)


def _f(lib):
    return lib.tensor([[1.5, -2.5, 3.0], [0.25, -1.0, 7.0]])


def _i(lib):
    return lib.tensor([[1, -2, 3], [0, 5, -7]])


def _u8(lib):
    return lib.tensor([0, 255, 128, 1], dtype=lib.uint8)


# name -> f(lib): a call torch refuses
CASES = {
    # the bitwise, shift and integer-division family: complex and bool operands
    "bitwise_and_complex": lambda t: t.bitwise_and(_c(t), _c(t)),
    "bitwise_not_complex": lambda t: t.bitwise_not(_c(t)),
    "xor_op_complex": lambda t: _c(t) ^ _c(t),
    "lshift_bool": lambda t: t.bitwise_left_shift(_b(t), _b(t)),
    "rshift_op_bool": lambda t: _b(t) >> _b(t),
    "floor_divide_complex": lambda t: t.floor_divide(_c(t), _c(t)),
    "remainder_bool": lambda t: t.remainder(_b(t), _b(t)),
    "mod_op_complex": lambda t: _c(t) % _c(t),
    "fmod_bool": lambda t: t.fmod(_b(t), _b(t)),
    "fmod_complex": lambda t: t.fmod(_c(t), _c(t)),
    "gcd_complex": lambda t: t.gcd(_c(t), _c(t)),
    "lcm_complex": lambda t: t.lcm(_c(t), _c(t)),
    "hypot_int": lambda t: t.hypot(_i(t), _i(t)),
    "logaddexp_int": lambda t: t.logaddexp(_i(t), _i(t)),
    "logaddexp2_bool": lambda t: t.logaddexp2(_b(t), _b(t)),
    # bool and complex refusals of one-input ops
    "floor_bool": lambda t: t.floor(_b(t)),
    "ceil_bool": lambda t: _b(t).ceil(),
    "round_bool": lambda t: t.round(_b(t)),
    "trunc_bool": lambda t: t.trunc(_b(t)),
    "pow_bool_bool": lambda t: t.pow(_b(t), _b(t)),
    "relu_bool": lambda t: t.relu(_b(t)),
    "pos_bool": lambda t: +_b(t),
    "abs__complex": lambda t: _c(t).abs_(),
    "sign_complex": lambda t: t.sign(_c(t)),
    "signbit_complex": lambda t: t.signbit(_c(t)),
    "isposinf_complex": lambda t: t.isposinf(_c(t)),
    "heaviside_complex": lambda t: t.heaviside(_c(t), _c(t)),
    "nansum_complex": lambda t: t.nansum(_c(t)),
    "median_bool": lambda t: t.median(_b(t)),
    "median_complex": lambda t: t.median(_c(t), 0),
    "mode_complex": lambda t: t.mode(_c(t)),
    "unique_complex": lambda t: t.unique(_c(t)),
    "isin_bool": lambda t: t.isin(_b(t), _b(t)),
    "searchsorted_complex": lambda t: t.searchsorted(_c(t), _c(t)),
    "cov_bool": lambda t: t.cov(_b(t)),
    "trapezoid_bool": lambda t: t.trapezoid(_b(t)),
    "gradient_uint8": lambda t: t.gradient(_u8(t)),
    "cdist_int": lambda t: t.cdist(_i(t), _i(t)),
    "pairwise_distance_bool": lambda t: t.nn.functional.pairwise_distance(_b(t), _f(t)),
    "cross_bool": lambda t: t.cross(_b(t), _f(t), dim=1),
    "normal_int_mean": lambda t: t.normal(_i(t)),
    "bincount_float": lambda t: t.bincount(t.tensor([1.5, 2.0])),
    "repeat_interleave_float": lambda t: t.repeat_interleave(_f(t)[0], _f(t)[0]),
    "repeat_interleave_negative": lambda t: t.repeat_interleave(t.tensor([1, 2]),
                                                                t.tensor([1, -1])),
    "bce_logits_int": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
        _i(t), _f(t)),
    "kl_div_int_target": lambda t: t.nn.functional.kl_div(_f(t), _i(t)),
    "rrelu_int": lambda t: t.nn.functional.rrelu(_i(t)),
    "adaptive_avg_pool1d_int": lambda t: t.nn.functional.adaptive_avg_pool1d(_i(t), 2),
    "masked_select_float_mask": lambda t: t.masked_select(_f(t), _f(t)),
    "binomial_int": lambda t: t.binomial(_i(t), _i(t)),
    "random__complex": lambda t: _c(t).random_(),
    "bernoulli_complex": lambda t: t.bernoulli(_c(t)),
    "bernoulli__number_p": lambda t: _f(t).bernoulli_(1.5),
    "exponential__negative": lambda t: _f(t).exponential_(-1.0),
    "fill__uint8_overflow": lambda t: _u8(t).fill_(-1.5),
    # shapes and dims: torch's RuntimeError (or IndexError)
    "inner_shapes": lambda t: t.inner(t.ones(3, 1), t.ones(1, 4)),
    "block_diag_3d": lambda t: t.block_diag(t.ones(1, 1, 1)),
    "cartesian_prod_2d": lambda t: t.cartesian_prod(_f(t)),
    "combinations_2d": lambda t: t.combinations(_f(t)),
    "combinations_negative_r": lambda t: t.combinations(_f(t)[0], -1),
    "fliplr_1d": lambda t: t.fliplr(_f(t)[0]),
    "flipud_0d": lambda t: t.flipud(t.tensor(1.0)),
    "rot90_1d": lambda t: t.rot90(_f(t)[0]),
    "hsplit_0d": lambda t: t.hsplit(t.tensor(1.0), 1),
    "vsplit_1d": lambda t: t.vsplit(_f(t)[0], 1),
    "diagonal_1d": lambda t: t.diagonal(_f(t)[0]),
    "diag_embed_0d": lambda t: t.diag_embed(t.tensor(1.0)),
    "bucketize_2d_boundaries": lambda t: t.bucketize(_f(t), _f(t)),
    "searchsorted_0d": lambda t: t.searchsorted(t.tensor(1.0), t.tensor(1.0)),
    "histc_bins": lambda t: t.histc(_f(t), -1),
    "histogram_nonfinite": lambda t: t.histogram(t.tensor([math.nan, 1.0])),
    "vander_negative_n": lambda t: t.vander(_f(t)[0], -1),
    "to_sparse_dim": lambda t: _f(t).to_sparse(3),
    "take_along_dim_range": lambda t: t.take_along_dim(_i(t), t.tensor([[-7, 1], [3, 0]])),
    "fill_diagonal__1d": lambda t: _f(t)[0].fill_diagonal_(1.0),
    "flatten_0d_dim": lambda t: t.flatten(t.tensor(1.0), 1),
    "median_0d_dim": lambda t: t.median(t.tensor(1.0), 1),
    "mode_0d_dim": lambda t: t.mode(t.tensor(1.0), 1),
    "nuclear_norm_int_dim": lambda t: t.nuclear_norm(_f(t), 0),
    "norm_negative_p_empty": lambda t: t.norm(t.ones(0), -1),
    # the dtype before the dim (std, var, mean), the dim before the dtype (logcumsumexp)
    "std_int_bad_dim": lambda t: t.std(_i(t), 2),
    "var_mean_int": lambda t: t.var_mean(_i(t)),
    "mean_int_bad_dim": lambda t: t.mean(_i(t), 2),
    "logcumsumexp_int_bad_dim": lambda t: t.logcumsumexp(_i(t), 2),
    # a tensor with dims where torch's signature takes a number: TypeError
    "logit_tensor_eps": lambda t: t.logit(_f(t), _f(t)),
    "nan_to_num_tensor_nan": lambda t: t.nan_to_num(_f(t), _f(t)),
    "pinverse_tensor_rcond": lambda t: t.pinverse(_f(t), _f(t)),
    "scalar_tensor_tensor": lambda t: t.scalar_tensor(_f(t)),
    "uniform__tensor": lambda t: _f(t).uniform_(_f(t)),
    "normal__tensor_mean": lambda t: _f(t).normal_(_f(t)),
    "pdist_tensor_p": lambda t: t.pdist(_f(t), _f(t)),
    "rrelu_tensor_lower": lambda t: t.rrelu(_f(t), _f(t)),
    "fill_diagonal__tensor": lambda t: t.ones(2, 2).fill_diagonal_(t.ones(2)),
    "broadcast_tensors_int": lambda t: t.broadcast_tensors(_f(t), 2),
    "chain_matmul_int": lambda t: t.chain_matmul(_f(t)[0], 2),
    "new_float": lambda t: _f(t).new(-1.5),
}


def _raised(fn, lib):
    try:
        fn(lib)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return e
    return None


@pytest.mark.filterwarnings("ignore")  # chain_matmul's deprecation, torch's own warnings
@pytest.mark.parametrize("name", sorted(CASES))
def test_error_class_is_torchs(name):
    """xpnn (NumPy backend) raises an instance of the class torch raises."""
    xpnn.set_default_backend("numpy")
    expected = _raised(CASES[name], torch)
    assert expected is not None, f"torch accepts {name}: the case is wrong"
    got = _raised(CASES[name], xpnn)
    assert got is not None, f"xpnn accepts {name}; torch raises {type(expected).__name__}"
    assert isinstance(got, type(expected)), (
        f"{name}: xpnn {type(got).__name__}: {got}; torch {type(expected).__name__}: "
        f"{expected}")


@pytest.mark.parametrize("name, op", [
    ("floor_bool", "floor"), ("lshift_bool", "bitwise_left_shift"), ("hypot_int", "hypot"),
    ("inner_shapes", "inner"), ("cartesian_prod_2d", "cartesian_prod"),
    ("logit_tensor_eps", "logit")])
def test_error_names_op_and_dtype_or_shape(name, op):
    """The messages name the op and what was received."""
    xpnn.set_default_backend("numpy")
    msg = str(_raised(CASES[name], xpnn))
    assert op in msg
    assert any(s in msg for s in ("bool", "int64", "shape", "Size")), msg


def test_mixed_float_int_still_computes():
    """torch promotes float32 with int64 for hypot/logaddexp: only integer pairs refuse."""
    xpnn.set_default_backend("numpy")
    for name in ("hypot", "logaddexp", "logaddexp2"):
        got = getattr(xpnn, name)(_f(xpnn), _i(xpnn))
        want = getattr(torch, name)(_f(torch), _i(torch))
        assert str(got.dtype).endswith("float32")
        assert got.shape == want.shape
        tol = 100 * float(torch.finfo(torch.float32).eps)  # float32 results
        assert torch.allclose(torch.tensor(got.numpy()), want, rtol=tol, atol=tol)
