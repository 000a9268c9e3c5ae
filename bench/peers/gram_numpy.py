"""The box QP that bench/spellings.ts derives from a regression problem: Q = X'X and q = -X'y
(bounded least squares), formed by NumPy's BLAS, since a 5000 x 5000 Gram matrix takes about a
minute in plain JavaScript. Not timed: it is the problem's data, not a solve.

Reads a JSON job on stdin ({X, y, Q, q}: raw little-endian float64 files with their shapes),
writes Q and q to their paths, prints one JSON line."""
import json, sys
import numpy as np

job = json.load(sys.stdin)
X = np.fromfile(job["X"]["path"], dtype="<f8").reshape(job["X"]["rows"], job["X"]["cols"])
y = np.fromfile(job["y"]["path"], dtype="<f8")
Q = X.T @ X
Q = 0.5 * (Q + Q.T)  # exactly symmetric, as X'X is
(-(X.T @ y)).astype("<f8").tofile(job["q"])
Q.astype("<f8").tofile(job["Q"])
print(json.dumps({"k": int(Q.shape[0])}))
