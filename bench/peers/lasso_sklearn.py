"""scikit-learn's Lasso on the job implc solves: min 1/2 ||X b - y||^2 + lam ||b||_1.

sklearn scales the loss by 1/n, so alpha = lam / n. Reads a JSON job on stdin, prints one
JSON line: per lambda the solution and the median time of `repeats` fits (fit only)."""
import json, sys, time
import numpy as np
from sklearn.linear_model import Lasso

job = json.load(sys.stdin)
X = np.fromfile(job["X"]["path"], dtype="<f8").reshape(job["X"]["rows"], job["X"]["cols"])
y = np.fromfile(job["y"]["path"], dtype="<f8")
n = X.shape[0]
out = []
for lam in job["lambdas"]:
    times = []
    for _ in range(job["repeats"]):
        model = Lasso(alpha=lam / n, fit_intercept=False, tol=job["tol"], max_iter=1_000_000, selection="cyclic")
        t0 = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - t0)
    out.append({"lambda": lam, "ms": 1000 * sorted(times)[len(times) // 2], "beta": model.coef_.tolist(), "iterations": int(model.n_iter_)})
print(json.dumps({"sklearn": __import__("sklearn").__version__, "results": out}))
