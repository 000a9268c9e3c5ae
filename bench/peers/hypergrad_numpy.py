"""NumPy's Lasso hypergradient at a given solution beta, by the support-restricted formula:

d beta_S / d lambda = -(X_S^T X_S)^{-1} sign(beta_S),  d val / d lambda = (Xv_S^T (Xv beta - yv))^T d beta_S / d lambda

for val = 1/2 ||Xv beta - yv||^2. Reads a JSON job on stdin, prints one JSON line: the
hypergradient and the median time of `repeats` evaluations (support extraction included)."""
import json, sys, time
import numpy as np


def load(m):
    a = np.fromfile(m["path"], dtype="<f8")
    return a.reshape(m["rows"], m["cols"]) if m["cols"] > 1 else a


job = json.load(sys.stdin)
X, y, Xv, yv, beta = (load(job[k]) for k in ("X", "y", "Xv", "yv", "beta"))


def hypergradient():
    S = np.flatnonzero(beta)
    XS = X[:, S]
    d = -np.linalg.solve(XS.T @ XS, np.sign(beta[S]))
    r = Xv @ beta - yv
    return float((Xv[:, S].T @ r) @ d), len(S)


hypergradient()
times = []
for _ in range(job["repeats"]):
    t0 = time.perf_counter()
    g, s = hypergradient()
    times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"numpy": np.__version__, "ms": 1000 * times[len(times) // 2], "grad": g, "support": s}))
