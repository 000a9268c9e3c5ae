"""scikit-learn's warm-started Lasso path as a tuner: fit down a log grid of lambdas
(alpha = lambda / n, warm_start=True) and stop at the first grid point whose validation loss
1/2 ||Xv b - yv||^2 is <= target. Reads a JSON job on stdin, prints one JSON line: per tol,
the median time to reach the target (fits and validation losses included), the fits it took,
and the grid's own best (one untimed full pass at the first tol)."""
import json, sys, time
import numpy as np
import sklearn
from sklearn.linear_model import Lasso


def load(m):
    a = np.fromfile(m["path"], dtype="<f8")
    return a.reshape(m["rows"], m["cols"]) if m["cols"] > 1 else a


job = json.load(sys.stdin)
X, y, Xv, yv = (load(job[k]) for k in ("X", "y", "Xv", "yv"))
n = X.shape[0]
lambdas, target = job["lambdas"], job["target"]


def path(tol, stop):
    model = Lasso(alpha=lambdas[0] / n, fit_intercept=False, tol=tol, max_iter=1_000_000, warm_start=True, selection="cyclic")
    best = (float("inf"), None)
    for k, lam in enumerate(lambdas):
        model.set_params(alpha=lam / n)
        model.fit(X, y)
        r = Xv @ model.coef_ - yv
        val = 0.5 * float(r @ r)
        if val < best[0]:
            best = (val, lam)
        if stop and val <= target:
            return {"solves": k + 1, "val": val, "lambda": lam, "reached": True}
    return {"solves": len(lambdas), "val": best[0], "lambda": best[1], "reached": False}


full = path(job["tols"][0], False)
out = []
for tol in job["tols"]:
    path(tol, True)
    times, res = [], None
    for _ in range(job["repeats"]):
        t0 = time.perf_counter()
        res = path(tol, True)
        times.append(time.perf_counter() - t0)
    times.sort()
    out.append({"tol": tol, "ms": 1000 * times[len(times) // 2], **res})
print(json.dumps({"sklearn": sklearn.__version__, "gridBest": {"val": full["val"], "lambda": full["lambda"]}, "results": out}))
