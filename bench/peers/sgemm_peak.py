"""NumPy's matrix multiply as the machine's measured peak, for bench/gflops.ts.

Times C = A @ B for square float32 (sgemm) and float64 (dgemm) matrices of each size in
`sizes`, one warm-up then `repeats` timed products; GFLOP/s = 2 n^3 / t from the best time
(the peak) and from the median. With threadpoolctl the BLAS is also timed limited to one
thread (the single-thread peak, the fair bar for single-threaded code); without it those
rows are omitted. Reads a JSON job on stdin, prints one JSON line: the NumPy and BLAS
versions, the BLAS thread count, and one result per (threads, dtype, n)."""
import json, os, sys, time
import numpy as np

try:
    import threadpoolctl
except ImportError:  # the single-thread rows are then skipped
    threadpoolctl = None

job = json.load(sys.stdin)
rng = np.random.default_rng(0)


def gemm(dtype, n, repeats):
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=c)  # warm-up: thread pool start, page faults
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    times.sort()
    best, median = times[0], times[len(times) // 2]
    flops = 2.0 * n**3
    return {"n": n, "dtype": np.dtype(dtype).name, "ms_best": 1000 * best, "ms_median": 1000 * median, "gflops": flops / best / 1e9, "gflops_median": flops / median / 1e9}


def sweep(threads):
    return [dict(gemm(dt, n, job["repeats"]), threads=threads) for dt in job["dtypes"] for n in job["sizes"]]


# Which BLAS and how many threads it uses (threadpoolctl reports only after numpy's BLAS is loaded).
info = threadpoolctl.threadpool_info() if threadpoolctl else []
blas = next((i for i in info if i.get("user_api") == "blas"), None)
threads = blas["num_threads"] if blas else int(os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)

results = sweep(threads)
if threadpoolctl and threads > 1:
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        results += sweep(1)

print(
    json.dumps(
        {
            "numpy": np.__version__,
            "blas": f"{blas['internal_api']} {blas['version']} ({blas.get('threading_layer', '?')}, {blas.get('architecture', '?')})" if blas else "unknown (no threadpoolctl)",
            "threads": threads,
            "threads_known": blas is not None,
            "cpus": os.cpu_count(),
            "results": results,
        }
    )
)
