"""What stays different between xpnn and torch 2.13 under the generic forward fuzzer
(tests/test_fuzz_forward.py), and why."""

# name (function and method alike) -> {kind of difference: why}. Kinds: "value" (a result
# differs), "xpnn-raises" (torch returns, xpnn raises), "lenient" (torch raises, xpnn
# returns), "exc-class" (both raise, xpnn another class; NumPy only). "(pending)" marks a
# difference found by this fuzzer and not yet fixed: each is a reproducer, printed by
# running the test with that entry removed.
KNOWN = {
    "__rtruediv__": {
        "value": "torch computes y / x as y * (1 / x) with 1 / x in x's float32 before "
            "promoting; xpnn divides in the promoted float64 (closer to exact)",
    },
    "acos": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "acos_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "acosh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "acosh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "adaptive_avg_pool1d": {
        "xpnn-raises": "integer/bool input with output_size 0: torch's empty result skips "
            "its dtype check; xpnn refuses non-floating input whatever the size",
    },
    "arccos": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arccos_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arccosh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arccosh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arcsin": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arcsin_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arcsinh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arcsinh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arctan": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arctan_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arctanh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "arctanh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "asin": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "asin_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "asinh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "asinh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "atan": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "atan_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "atanh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "atanh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "bernoulli": {
        "lenient": "probability tensors outside [0, 1]: torch checks every entry (a host "
            "read); xpnn does not read the data (p > 1 draws 1, p < 0 or NaN 0)",
    },
    "bernoulli_": {
        "lenient": "probability tensors outside [0, 1]: torch checks every entry (a host "
            "read); xpnn does not read the data (p > 1 draws 1, p < 0 or NaN 0)",
    },
    "bfloat16": {"xpnn-raises": "no bfloat16 on the NumPy and array-api-strict backends"},
    "binary_cross_entropy_with_logits": {
        "value": "ATen's top-level form on empty inputs returns the empty unreduced tensor; "
            "xpnn's (F's) the 0-d mean",
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "binomial": {
        "lenient": "float32 count with float64 prob: torch refuses mixed dtypes, xpnn "
            "promotes as elementwise ops do",
    },
    "cdist": {
        "lenient": "float32 with float64: torch refuses mixed dtypes, xpnn promotes as "
            "elementwise ops do",
    },
    "cholesky": {
        "xpnn-raises": "empty non-matrix input ((0,), (2, 0, 3)): the deprecated "
            "torch.cholesky skips its shape checks when there is no element; xpnn checks",
    },
    "conv1d": {
        "value": "zero input channels ((2, 0, 3) by a (2, 0, 3) weight): torch's empty-input "
            "shortcut gives 0 output channels, (2, 0, 1); xpnn the empty sum, zeros of "
            "(N, out_channels, L_out) = (2, 2, 1)",
    },
    "corrcoef": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "cosh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "cosh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "cosine_similarity": {
        "value": "float32 with float64: torch normalizes each input in its own dtype (a 3e-8 "
            "difference)",
    },
    "cov": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "cumprod_": {"exc-class": "another exception class than torch's (pending)"},
    "cumsum_": {"exc-class": "another exception class than torch's (pending)"},
    "cumulative_trapezoid": {
        "value": "integer inputs: torch adds in the integer dtype (uint8 and int64 wrap around), "
            "xpnn in float",
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "detach_": {
        "lenient": "detach_ of a view (x.t()): torch refuses for its autograd view "
            "tracking; xpnn detaches the view itself",
    },
    "exp2": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "exp2_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "expm1": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "expm1_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "float_power": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "half": {"xpnn-raises": "array-api-strict has no float16 (the standard's dtypes)"},
    "hinge_embedding_loss": {
        "value": "ATen's top-level form on empty inputs returns the empty unreduced tensor; "
            "xpnn's (F's) the 0-d mean",
        "xpnn-raises": "integer inputs: ATen's top-level form computes in integers; xpnn's "
            "losses take floating inputs (as torch.nn.functional's)",
    },
    "histogramdd": {"exc-class": "another exception class than torch's (pending)"},
    "i0": {"value": "i0(+-inf): torch's Chebyshev series gives NaN, xpnn the limit inf"},
    "i0_": {"value": "i0(+-inf): torch's Chebyshev series gives NaN, xpnn the limit inf"},
    "is_contiguous": {"value": "documented: every xpnn tensor is dense and contiguous (README)"},
    "isin": {
        "lenient": "transposed (non-contiguous) inputs: torch 2.13 fails with a view error;"
            " xpnn's tensors are dense (README)",
    },
    "kl_div": {
        "value": "ATen's top-level form on empty inputs returns the empty unreduced tensor; "
            "xpnn's (F's) the 0-d mean",
    },
    "ldexp": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "ldexp_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "log10": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "log10_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "log1p": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "log1p_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "log2": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "log2_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "logaddexp": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "logcumsumexp": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "logsumexp": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "lu": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "max_pool1d": {
        "lenient": "integer inputs: torch has no integer max_pool1d kernel (its max_pool2d "
            "has one); xpnn pools integers exactly",
    },
    "new": {
        "lenient": "x.new(t) with t of another dtype: torch refuses, xpnn converts t to x's"
            " dtype (as x.new_tensor(t))",
    },
    "normal": {
        "lenient": "a std tensor with negative entries: torch checks every entry (a host "
            "read); xpnn does not read the data (the draws are mean + std * z)",
    },
    "nuclear_norm": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "pca_lowrank": {
        "exc-class": "another exception class than torch's (pending)",
        "xpnn-raises": "complex input outside xpnn's complex slice (README): linalg.qr "
            "is real",
    },
    "pinverse": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "qr": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "rsqrt": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "rsqrt_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "sigmoid": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "sigmoid_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "sinc": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "sinc_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "sinh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "sinh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "slice_scatter": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "squeeze_": {"xpnn-raises": "in-place shape change of a view (README: tensors are dense)"},
    "std": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "std_mean": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "stride": {
        "value": "documented: row-major strides of the shape (README); torch gives 0 for (0,)",
    },
    "svd": {
        "value": "singular vectors' signs are the LAPACK driver's choice",
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "svd_lowrank": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README): linalg.qr "
            "is real",
    },
    "t_": {"xpnn-raises": "in-place shape change of a view (README: tensors are dense)"},
    "take_along_dim": {
        "xpnn-raises": "empty float indices: torch skips its index dtype check when there "
            "is no element; xpnn checks",
    },
    "tan": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "tan_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "tanh": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "tanh_": {"xpnn-raises": "complex input outside xpnn's complex slice (README)"},
    "to_sparse": {
        "value": "xpnn's sparse COO tensor is its own class (README, sparse)",
        "xpnn-raises": "a 0-d tensor: xpnn's COO tensors have at least one sparse dim "
            "(torch: sparse_dim 0, one value)",
    },
    "to_sparse_coo": {
        "value": "xpnn's sparse COO tensor is its own class (README, sparse)",
        "xpnn-raises": "a 0-d tensor: xpnn's COO tensors have at least one sparse dim "
            "(torch: sparse_dim 0, one value)",
    },
    "topk": {
        "lenient": "bool inputs: torch refuses them on CPU only (its CUDA kernel takes them); "
            "xpnn takes them on every backend (tests/test_ops.py)",
    },
    "trapezoid": {
        "value": "integer inputs: torch adds in the integer dtype (int64 wraps), xpnn in float",
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "trapz": {
        "value": "integer inputs: torch adds in the integer dtype (int64 wraps), xpnn in float",
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "uniform_": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "unsqueeze_": {"xpnn-raises": "in-place shape change of a view (README: tensors are dense)"},
    "var": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
    "var_mean": {
        "xpnn-raises": "complex input outside xpnn's complex slice (README)",
    },
}
