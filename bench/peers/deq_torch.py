"""PyTorch (CPU, float64) peer of bench/deq.ts: one DEQ training step on a batch.

Model (samples/deq_classifier.impl): z = relu(W z + U u + b), s = V z + c,
loss = logsumexp(s) - onehot . s, averaged over the batch.

Forward: plain fixed-point iteration z <- relu(z W^T + u U^T + b) from z = 0, batched,
for exactly `iterations` steps (the count implc used; no Anderson). Backward (implicit
function theorem, relu'(0) = 0 as implc): D = diag(pre > 0) at the solution,
g = dL/dz = V^T (softmax(s) - onehot) / B, solve (I - D W)^T w = g per sample with a
batched torch.linalg.solve (job "backward": "solve", the default) or by a fixed number of
adjoint fixed-point iterations w <- (D w) W + g ("adjoint", "adjoint_iterations", default 30:
how DEQ libraries run the backward), then with v = D w: dW = sum v z^T, dU = sum v u^T, db = sum v,
dV = sum (p - onehot) z^T / B, dc = sum (p - onehot) / B.

Reads a JSON job on stdin, prints one JSON line: loss, the gradients (flat, implc's order
W, U, b, V, c), the median step time over `repeats` (after one warm-up) and its phases."""
import json, sys, time
import numpy as np
import torch

job = json.load(sys.stdin)
torch.set_num_threads(job.get("threads", 2))
dt = torch.float64


def load(m):
    a = np.fromfile(m["path"], dtype="<f8").reshape(m["rows"], m["cols"])
    return torch.from_numpy(a.copy()).to(dt)


W, U, V = load(job["W"]), load(job["U"]), load(job["V"])
b, c = load(job["b"]).reshape(-1), load(job["c"]).reshape(-1)
u, onehot = load(job["u"]), load(job["onehot"])
K = int(job["iterations"])
BACKWARD = job.get("backward", "solve")  # "solve": batched linalg.solve; "adjoint": fixed point
ADJOINT_ITERS = int(job.get("adjoint_iterations", 30))
B, h = u.shape[0], W.shape[0]
eye = torch.eye(h, dtype=dt)


def step():
    t0 = time.perf_counter()
    with torch.no_grad():
        Wt = W.t()
        inj = u @ U.t() + b  # the data part of the pre-activation, once
        z = torch.zeros(B, h, dtype=dt)
        for _ in range(K):
            z = torch.relu(z @ Wt + inj)
        t1 = time.perf_counter()
        pre = z @ Wt + inj
        D = (pre > 0).to(dt)
        s = z @ V.t() + c
        lse = torch.logsumexp(s, dim=1)
        loss = (lse - (onehot * s).sum(1)).mean()
        r = (torch.softmax(s, dim=1) - onehot) / B  # dL/ds per sample
        g = r @ V  # dL/dz, (B, h)
        if BACKWARD == "adjoint":
            # The adjoint fixed point as DEQ libraries run it (torchdeq's backward): w <- (D w) W + g,
            # a fixed number of batched iterations from w = g.
            w = g
            for _ in range(ADJOINT_ITERS):
                w = (D * w) @ W + g
        else:
            # (I - D W)^T = I - W^T D: column j of W^T scaled by D_j.
            M = eye.unsqueeze(0) - Wt.unsqueeze(0) * D.unsqueeze(1)
            w = torch.linalg.solve(M, g.unsqueeze(2)).squeeze(2)
        v = D * w
        gW = v.t() @ z
        gU = v.t() @ u
        gb = v.sum(0)
        gV = r.t() @ z
        gc = r.sum(0)
        t2 = time.perf_counter()
    return loss, (gW, gU, gb, gV, gc), t1 - t0, t2 - t1


step()
times, fwd, bwd = [], [], []
for _ in range(job["repeats"]):
    t0 = time.perf_counter()
    loss, grads, f, bw = step()
    times.append(time.perf_counter() - t0)
    fwd.append(f)
    bwd.append(bw)
med = lambda xs: 1000 * sorted(xs)[len(xs) // 2]
flat = torch.cat([g.reshape(-1) for g in grads])
print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "ms": med(times),
    "forward_ms": med(fwd),
    "backward_ms": med(bwd),
    "loss": float(loss),
    "grad": flat.tolist(),
}))
