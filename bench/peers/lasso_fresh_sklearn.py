"""scikit-learn's Lasso.fit from a fresh estimator on the problem implc solves from a fresh
instance: min 1/2 ||X b - y||^2 + lam ||b||_1 (sklearn's objective is scaled by 1/n, so
alpha = lam / n), fit_intercept=False, precompute left at its default, at several tolerances
(its tol is a duality-gap bound, not a KKT one: the caller measures the KKT of each answer and
picks the tolerance that matches).

Reads a JSON job on stdin ({X, y, lambdas, tols, repeats}), prints one JSON line: per lambda
and tol, every fit's time in ms (fit only: the estimator is built outside the timer, X is the
C-ordered array NumPy reads, converted inside fit as a user's call would), the last solution
and sklearn's iteration count."""
import json, sys, time
import numpy as np
from sklearn.linear_model import Lasso

job = json.load(sys.stdin)
X = np.fromfile(job["X"]["path"], dtype="<f8").reshape(job["X"]["rows"], job["X"]["cols"])
y = np.fromfile(job["y"]["path"], dtype="<f8")
n = X.shape[0]
out = []
for lam in job["lambdas"]:
    for tol in job["tols"]:
        times = []
        for _ in range(job["repeats"]):
            model = Lasso(alpha=lam / n, fit_intercept=False, tol=tol, max_iter=1_000_000)
            t0 = time.perf_counter()
            model.fit(X, y)
            times.append(1000 * (time.perf_counter() - t0))
        out.append({"lambda": lam, "tol": tol, "ms": times, "beta": model.coef_.tolist(), "iterations": int(model.n_iter_)})
print(json.dumps({"sklearn": __import__("sklearn").__version__, "results": out}))
