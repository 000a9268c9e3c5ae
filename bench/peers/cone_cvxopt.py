"""cvxopt's conelp on a cone program in SCS's form, and the gradient of w'x* by differentiating
its KKT conditions (an independent peer for implc's conic layers).

Problem: min c'x  s.t.  A x + s = b, s in K;  dual: max -b'y  s.t.  A'y + c = 0, y in K*.
K is a product of blocks in the job's order: "zero" (s = 0, y free), "nonneg", "soc"
({(t, u): ||u|| <= t}, t first) and "psd" (order k, svec storage: lower triangle column by
column, off-diagonals times sqrt(2), so <svec X, svec Y> = trace(XY)).

cvxopt wants  min c'x  s.t.  G x + s = h, s in C;  A_eq x = b_eq,  with C ordered nonneg, soc,
psd and PSD slacks stored as full k x k matrices (column-major). Zero rows become A_eq; an
svec row r = (i, j), i > j, is the entry S_ij = s_r / sqrt(2), written in both triangles as
G = A_r / sqrt(2), h = b_r / sqrt(2). Its dual is then the full matrix Z with y_r = sqrt(2) Z_ij
(G'z sums Z_ij and Z_ji), so y = svec(Z): the dual of both forms is the same y.

Derivative: the KKT map F(x, y, s; c, b, A) = (A'y + c, A x + s - b, s o y) with o the Jordan
product of each block (zero: s itself; nonneg: s_i y_i; soc: arw(y) s; psd: (SY + YS)/2) is
smooth, and at a strictly complementary, nondegenerate solution its Jacobian in (x, y, s),

    M = [[0, A', 0], [A, 0, I], [0, d(s o y)/dy, d(s o y)/ds]],

is invertible. Linearizing, M (dx, dy, ds) = (-dc - dA'y, db - dA x, 0), so for L = w'x the
adjoint lambda = M^-T (w, 0, 0) gives dL = lambda_1'(-dc - dA'y) + lambda_2'(db - dA x):
grad_c = -lambda_1, grad_b = lambda_2, grad_A = -(y lambda_1' + lambda_2 x'). One dense LU
(numpy.linalg.solve, LAPACK gesv) of M'.

Job (JSON on stdin): {"A": {path, rows, cols} (raw little-endian f64, row-major) or
"A_rows": [[...]], "b": [...], "c": [...], "cone": {"blocks": [{"kind", "n"}]}, "weights": [...]
(w, length n; optional, no gradient without it), "repeats": int, "tol": optional (default 1e-10,
conelp's abstol = reltol = feastol, loosened tenfold up to 1e-6 until conelp reports
"optimal"), "polish": optional (default true)}.
Prints one JSON line: {"x", "y", "s", "status", "tol" (the one used), "iterations", "solve_ms",
"conelp", "polished", "kkt_residual", "polish_ms", and with weights "kkt_singular", then unless
singular "diff_ms", "grad_c", "grad_b", "grad_A" (m x n nested lists, omitted when m n > 250000)};
solve_ms is the median over `repeats` of the conelp call alone (after one untimed call that
settles the tolerance), diff_ms the median of the differentiation alone (assembly of M, the
solve, the gradients).

Polish: conelp stops on the duality gap s'y, and on curved cones (soc, psd) a gap eps leaves
the pair off by about sqrt(eps) along the boundary (turning S's eigenvectors by theta changes
<S, Y> by theta^2 but S o Y by theta), so its x is good to ~1e-6 at eps = 1e-10 (the tightest
it converges to). Newton steps on F = 0 from conelp's point (Jacobian M, quadratic
convergence where M is invertible) reach the exact KKT point; they are kept only if they lower
||F||_inf and leave s in K, y in K*. "conelp" holds the unpolished {x, y, s}, "x", "y", "s" the
final ones, "kkt_residual" [||F|| before, after]."""
import json, math, sys, time
import numpy as np
from cvxopt import matrix, solvers

SQRT2 = math.sqrt(2.0)


def svec_index(k):
    """(i, j) of each svec entry: lower triangle, column by column."""
    return [(i, j) for j in range(k) for i in range(j, k)]


def svec(X):
    k = X.shape[0]
    return np.array([X[i, j] * (1.0 if i == j else SQRT2) for (i, j) in svec_index(k)])


def smat(v, k):
    X = np.zeros((k, k))
    for r, (i, j) in enumerate(svec_index(k)):
        X[i, j] = X[j, i] = v[r] * (1.0 if i == j else 1.0 / SQRT2)
    return X


def block_rows(blocks):
    """Per block: (kind, order, first row, length) in the job's row order."""
    out, r = [], 0
    for b in blocks:
        kind, n = b["kind"], int(b["n"])
        length = n * (n + 1) // 2 if kind == "psd" else n
        out.append((kind, n, r, length))
        r += length
    return out


def to_cvxopt(A, b, blocks):
    """G, h, dims, A_eq, b_eq, and the map back: for each job row, where it lives in cvxopt."""
    rows = block_rows(blocks)
    eq = [r for (kind, _, r0, ln) in rows if kind == "zero" for r in range(r0, r0 + ln)]
    lin = [r for (kind, _, r0, ln) in rows if kind == "nonneg" for r in range(r0, r0 + ln)]
    socs = [(r0, ln) for (kind, _, r0, ln) in rows if kind == "soc"]
    psds = [(k, r0) for (kind, k, r0, _) in rows if kind == "psd"]
    n = A.shape[1]
    G_rows, h_vals = [], []
    for r in lin:
        G_rows.append(A[r]); h_vals.append(b[r])
    for (r0, ln) in socs:
        for r in range(r0, r0 + ln):
            G_rows.append(A[r]); h_vals.append(b[r])
    psd_offsets = []
    for (k, r0) in psds:
        full_G = np.zeros((k * k, n)); full_h = np.zeros(k * k)
        for t, (i, j) in enumerate(svec_index(k)):
            scale = 1.0 if i == j else 1.0 / SQRT2
            for (p, q) in {(i, j), (j, i)}:
                full_G[q * k + p] = A[r0 + t] * scale  # column-major: entry (p, q) at q k + p
                full_h[q * k + p] = b[r0 + t] * scale
        psd_offsets.append(len(G_rows))
        G_rows.extend(full_G); h_vals.extend(full_h)
    dims = {"l": len(lin), "q": [ln for (_, ln) in socs], "s": [k for (k, _) in psds]}
    G = np.array(G_rows).reshape(len(G_rows), n)
    h = np.array(h_vals)
    A_eq = A[eq] if eq else None
    b_eq = b[eq] if eq else None
    layout = {"eq": eq, "lin": lin, "socs": socs, "psds": [(k, r0, off) for (k, r0), off in zip(psds, psd_offsets)]}
    return G, h, dims, A_eq, b_eq, layout


def from_cvxopt(sol, m, layout):
    """x, and (y, s) in the job's rows: PSD blocks read from the lower triangle of cvxopt's full storage."""
    x = np.array(sol["x"]).ravel()
    z = np.array(sol["z"]).ravel()
    sc = np.array(sol["s"]).ravel()
    y, s = np.zeros(m), np.zeros(m)
    if layout["eq"]:
        y[layout["eq"]] = np.array(sol["y"]).ravel()
    pos = 0
    for r in layout["lin"]:
        y[r], s[r] = z[pos], sc[pos]; pos += 1
    for (r0, ln) in layout["socs"]:
        y[r0:r0 + ln], s[r0:r0 + ln] = z[pos:pos + ln], sc[pos:pos + ln]; pos += ln
    for (k, r0, off) in layout["psds"]:
        Z = z[off:off + k * k].reshape(k, k).T  # column-major
        S = sc[off:off + k * k].reshape(k, k).T
        Zl, Sl = np.tril(Z), np.tril(S)
        Z = Zl + Zl.T - np.diag(np.diag(Z)); S = Sl + Sl.T - np.diag(np.diag(S))
        ln = k * (k + 1) // 2
        y[r0:r0 + ln], s[r0:r0 + ln] = svec(Z), svec(S)
    return x, y, s


def arw(u):
    """The arrow matrix of u = (u0, u1): arw(u) v = u o v for the second-order cone."""
    q = len(u)
    M = u[0] * np.eye(q)
    M[0, 1:] = u[1:]
    M[1:, 0] = u[1:]
    return M


def sym_product(X):
    """The matrix of E -> svec((X E + E X) / 2) in svec coordinates (the symmetrized Kronecker product)."""
    k = X.shape[0]
    ln = k * (k + 1) // 2
    L = np.zeros((ln, ln))
    for r in range(ln):
        e = np.zeros(ln); e[r] = 1.0
        E = smat(e, k)
        L[:, r] = svec((X @ E + E @ X) / 2.0)
    return L


def kkt_matrix(A, x, y, s, blocks):
    m, n = A.shape
    N = n + 2 * m
    M = np.zeros((N, N))
    M[0:n, n:n + m] = A.T
    M[n:n + m, 0:n] = A
    M[n:n + m, n + m:] = np.eye(m)
    c0 = n + m  # first complementarity row; dy columns start at n, ds columns at n + m
    for (kind, k, r0, ln) in block_rows(blocks):
        rows = slice(c0 + r0, c0 + r0 + ln)
        dy = slice(n + r0, n + r0 + ln)
        ds = slice(n + m + r0, n + m + r0 + ln)
        if kind == "zero":
            M[rows, ds] = np.eye(ln)
        elif kind == "nonneg":
            M[rows, dy] = np.diag(s[r0:r0 + ln])
            M[rows, ds] = np.diag(y[r0:r0 + ln])
        elif kind == "soc":
            M[rows, dy] = arw(s[r0:r0 + ln])
            M[rows, ds] = arw(y[r0:r0 + ln])
        elif kind == "psd":
            M[rows, dy] = sym_product(smat(s[r0:r0 + ln], k))
            M[rows, ds] = sym_product(smat(y[r0:r0 + ln], k))
        else:
            raise ValueError(f"unknown cone kind {kind}")
    return M


def kkt_residual(A, b, c, x, y, s, blocks):
    """F(x, y, s) = (A'y + c, A x + s - b, s o y), the zero block's complementarity row being s."""
    comp = np.zeros(len(b))
    for (kind, k, r0, ln) in block_rows(blocks):
        sb, yb = s[r0:r0 + ln], y[r0:r0 + ln]
        if kind == "zero":
            comp[r0:r0 + ln] = sb
        elif kind == "nonneg":
            comp[r0:r0 + ln] = sb * yb
        elif kind == "soc":
            comp[r0:r0 + ln] = arw(yb) @ sb
        else:
            S, Y = smat(sb, k), smat(yb, k)
            comp[r0:r0 + ln] = svec((S @ Y + Y @ S) / 2.0)
    return np.concatenate([A.T @ y + c, A @ x + s - b, comp])


def cone_violation(v, blocks, dual):
    """How far v is outside K (dual=False) or K* (dual=True): 0 inside."""
    worst = 0.0
    for (kind, k, r0, ln) in block_rows(blocks):
        vb = v[r0:r0 + ln]
        if kind == "zero":
            worst = max(worst, 0.0 if dual else float(np.abs(vb).max()))
        elif kind == "nonneg":
            worst = max(worst, float(-vb.min()))
        elif kind == "soc":
            worst = max(worst, float(np.linalg.norm(vb[1:]) - vb[0]))
        else:
            worst = max(worst, float(-np.linalg.eigvalsh(smat(vb, k)).min()))
    return max(worst, 0.0)


def polish(A, b, c, x, y, s, blocks, steps=6):
    """Newton on F = 0 from conelp's point; the best iterate that stays in the cones."""
    m, n = A.shape
    F = kkt_residual(A, b, c, x, y, s, blocks)
    best = (np.abs(F).max(), x, y, s)
    first = best[0]
    for _ in range(steps):
        try:
            d = np.linalg.solve(kkt_matrix(A, x, y, s, blocks), -F)
        except np.linalg.LinAlgError:
            break
        x, y, s = x + d[0:n], y + d[n:n + m], s + d[n + m:]
        F = kkt_residual(A, b, c, x, y, s, blocks)
        r = np.abs(F).max()
        scale = 1e-9 * max(1.0, np.abs(s).max(), np.abs(y).max())
        if not (cone_violation(s, blocks, False) <= scale and cone_violation(y, blocks, True) <= scale):
            break
        previous = best[0]
        if r < previous:
            best = (r, x, y, s)
        if not r < previous / 2:  # Newton has stalled at the rounding level of F
            break
    return first, best


def kkt_gradient(A, x, y, s, blocks, w):
    m, n = A.shape
    M = kkt_matrix(A, x, y, s, blocks)
    rhs = np.zeros(n + 2 * m)
    rhs[0:n] = w
    lam = np.linalg.solve(M.T, rhs)
    l1, l2 = lam[0:n], lam[n:n + m]
    return -l1, l2, -(np.outer(y, l1) + np.outer(l2, x))


def median(ts):
    ts = sorted(ts)
    return 1000.0 * ts[len(ts) // 2]


def main():
    job = json.load(sys.stdin)
    if "A" in job:
        A = np.fromfile(job["A"]["path"], dtype="<f8").reshape(job["A"]["rows"], job["A"]["cols"])
    else:
        A = np.array(job["A_rows"], dtype=float)
    b = np.array(job["b"], dtype=float)
    c = np.array(job["c"], dtype=float)
    blocks = job["cone"]["blocks"]
    repeats = max(1, int(job.get("repeats", 1)))
    m, n = A.shape
    G, h, dims, A_eq, b_eq, layout = to_cvxopt(A, b, blocks)
    args = [matrix(c), matrix(G), matrix(h), dims]
    if A_eq is not None:
        args += [matrix(A_eq), matrix(b_eq)]
    solvers.options["show_progress"] = False
    solvers.options["maxiters"] = 200

    def solve(tol):
        solvers.options["abstol"] = tol
        solvers.options["reltol"] = tol
        solvers.options["feastol"] = tol
        return solvers.conelp(*args)

    # As tight as conelp converges: loosen tenfold while it stops short of "optimal" or fails.
    tol = float(job.get("tol", 1e-10))
    while True:
        try:
            sol = solve(tol)
            if sol["status"] == "optimal" or tol >= 1e-6:
                break
        except (ArithmeticError, ValueError):
            if tol >= 1e-6:
                raise
        tol *= 10.0
    solve_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol = solve(tol)
        solve_times.append(time.perf_counter() - t0)
    x, y, s = from_cvxopt(sol, m, layout)
    out = {"status": sol["status"], "tol": tol, "iterations": int(sol["iterations"]), "solve_ms": median(solve_times),
           "conelp": {"x": x.tolist(), "y": y.tolist(), "s": s.tolist()}, "polished": False}
    if job.get("polish", True):
        t0 = time.perf_counter()
        before, (after, xp, yp, sp) = polish(A, b, c, x, y, s, blocks)
        out["polish_ms"] = 1000.0 * (time.perf_counter() - t0)
        out["kkt_residual"] = [float(before), float(after)]
        if after < before:
            x, y, s = xp, yp, sp
            out["polished"] = True
    out.update({"x": x.tolist(), "y": y.tolist(), "s": s.tolist()})
    if "weights" in job:
        w = np.array(job["weights"], dtype=float)
        diff_times = []
        try:
            for _ in range(repeats):
                t0 = time.perf_counter()
                gc, gb, gA = kkt_gradient(A, x, y, s, blocks, w)
                diff_times.append(time.perf_counter() - t0)
            out.update({"kkt_singular": False, "diff_ms": median(diff_times), "grad_c": gc.tolist(), "grad_b": gb.tolist()})
            if m * n <= 250000:
                out["grad_A"] = gA.tolist()
        except np.linalg.LinAlgError:
            out["kkt_singular"] = True
    print(json.dumps(out))


if __name__ == "__main__":
    main()
