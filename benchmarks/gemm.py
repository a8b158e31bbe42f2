"""The matrix products under benchmarks/compare.py's models on one core: NumPy's BLAS (the
kernels xpnn's NumPy backend calls) against PyTorch's, GFLOP/s per shape.

xpnn's products are NumPy's BLAS calls, one per block of a product (see
xpnn/functional/gemm.py), so this bounds what xpnn can reach where a model's step is mostly
products: at a shape where PyTorch's kernel does 1.2x NumPy's on one core, xpnn needs 1.2x
less of everything else to tie. Each shape is timed in alternating rounds (NumPy, PyTorch,
PyTorch, NumPy, ...), both on one thread, in this process; the figure is the median over
rounds of the median call time.

    python benchmarks/gemm.py
    python benchmarks/gemm.py --rounds 5 --seconds 0.5
"""
import argparse
import statistics
import time

import numpy as np

# (M, K, N, layout of B, where it comes from): "t" is B as the transposed view of a row-major
# (N, K) weight, as linear's forward takes it; "n" is a row-major (K, N) array
SHAPES = [
    (64, 784, 256, "t", "MLP batch 64: first layer forward"),
    (64, 256, 256, "t", "MLP batch 64: second layer forward"),
    (1024, 784, 256, "t", "MLP batch 1024: first layer forward"),
    (1024, 256, 256, "n", "MLP batch 1024: second layer dX"),
    (256, 1024, 784, "n", "MLP batch 1024: first layer dW"),
    (64, 321, 1024, "n", "LSTM: one step's gates"),
    (4096, 1024, 64, "n", "LSTM: input dX over the sequence"),
    (2048, 128, 384, "t", "Transformer: q, k, v projection"),
]


def _time(fn, seconds):
    for _ in range(3):
        fn()
    times, t_end = [], time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.3, help="timed seconds per shape and run")
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits
    torch.set_num_threads(1)
    blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(f"NumPy {np.__version__} BLAS: {blas}; PyTorch {torch.__version__}; one thread each")
    rng = np.random.default_rng(0)
    print(f"{'shape M x K x N':22s} {'numpy GF/s':>10s} {'torch GF/s':>10s} {'numpy/torch':>11s}  use")
    with threadpool_limits(1):
        for m, k, n, layout, what in SHAPES:
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((n, k) if layout == "t" else (k, n), dtype=np.float32)
            nb = b.T if layout == "t" else b
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            tb = tb.T if layout == "t" else tb
            runs = {"numpy": [], "torch": []}
            for r in range(args.rounds):
                order = ("numpy", "torch") if r % 2 == 0 else ("torch", "numpy")
                for lib in order:
                    fn = (lambda: a @ nb) if lib == "numpy" else (lambda: ta @ tb)
                    runs[lib].append(_time(fn, args.seconds))
            flops = {lib: 2 * m * k * n / statistics.median(t) / 1e9 for lib, t in runs.items()}
            print(f"{f'{m} x {k} x {n}':22s} {flops['numpy']:10.0f} {flops['torch']:10.0f} "
                  f"{flops['numpy'] / flops['torch']:10.2f}x  {what}", flush=True)


if __name__ == "__main__":
    main()
