"""scikit-learn's lasso_path on the job implc's path solves: min 1/2 ||X b - y||^2 + lam ||b||_1
for each lam of a decreasing grid, each fit warm-started from the previous one (what
lasso_path does), X in Fortran order as its coordinate descent wants it (the copy untimed).

sklearn scales the loss by 1/n, so alpha = lam / n. Reads a JSON job on stdin, prints one
JSON line: the median time of `repeats` whole paths and the coefficients, one row per lam."""
import json, sys, time
import numpy as np
from sklearn.linear_model import lasso_path

job = json.load(sys.stdin)
X = np.asfortranarray(np.fromfile(job["X"]["path"], dtype="<f8").reshape(job["X"]["rows"], job["X"]["cols"]))
y = np.fromfile(job["y"]["path"], dtype="<f8")
alphas = np.array(job["lambdas"]) / X.shape[0]
times = []
for _ in range(job["repeats"]):
    t0 = time.perf_counter()
    _, coefs, _ = lasso_path(X, y, alphas=alphas, tol=job["tol"], max_iter=1_000_000)
    times.append(time.perf_counter() - t0)
print(json.dumps({"sklearn": __import__("sklearn").__version__, "ms": 1000 * sorted(times)[len(times) // 2], "coefs": coefs.T.tolist()}))
