"""`make bench`: one training step of nnfunc against the alternatives, side by side.

Each workload runs in its own process (``--worker NAME``); inside it every column, in
float64 and float32, is timed in blocks of calls, round-robin, ``--reps`` times, so that
machine noise hits all columns alike.  A cell is the median time of one step (forward,
backward, update) and its ratio to the hand-written NumPy reference.  A last process
measures memory with tracemalloc.  The report goes to the terminal and to ``--out``.

Columns
-------
nnfunc sgd_step  ``p = nf.sgd_step(p, X, Y, lr)``: public API, validation included.
nnfunc loop      (``epoch`` only) the same epoch as a plain loop over ``sgd_step``.
nnfunc adam      ``updates, s = opt.update(nf.grads(p, X, Y), s, p)``, then
                 ``p = nf.apply_updates(p, updates)``.
NumPy ref        the tightest plain NumPy step we could write (see ``RefNet``).
scikit-learn     ``MLPRegressor.partial_fit`` on the batch: SGD, no momentum, alpha=0.
PyTorch          eager CPU: ``nn.Sequential``, ``F.mse_loss``, ``torch.optim.SGD``.
GEMM floor       the step's matrix products alone, into preallocated outputs.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import nnfunc as nf

WORKLOADS: dict[str, dict[str, Any]] = {
    "seed": {"sizes": (2, 4, 4, 3), "batch": 7000, "rows": 7000, "lr": 0.01},
    "small": {"sizes": (2, 64, 64, 3), "batch": 64, "rows": 64, "lr": 0.01},
    "wide": {"sizes": (784, 512, 512, 10), "batch": 256, "rows": 256, "lr": 0.001},
    "epoch": {"sizes": (2, 16, 16, 3), "batch": 128, "rows": 7000, "lr": 0.01},
}
DTYPES = ("float64", "float32")
COLUMNS = ("nnfunc", "adam", "loop", "numpy", "sklearn", "torch", "gemm")
TITLES = {"nnfunc": "nnfunc sgd_step", "adam": "nnfunc adam", "loop": "nnfunc loop",
          "numpy": "NumPy ref",
          "sklearn": "scikit-learn", "torch": "PyTorch", "gemm": "GEMM floor"}
HERE = os.path.dirname(os.path.abspath(__file__))


# --- data -----------------------------------------------------------------------------------


def make_data(name: str, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Standardized ``X: (rows, n_in)``, ``Y: (rows, n_out)`` in ``dtype``."""
    spec = WORKLOADS[name]
    rng = np.random.default_rng(0)
    sizes = spec["sizes"]
    if name in ("seed", "epoch"):  # the tutorial's data, its first 7,000 rows = the train split
        d = nf.make_tutorial_data(rng, 10_000)
        X, Y = d.X[: spec["rows"]], d.Y[: spec["rows"]]
        X = (X - X.mean(0)) / X.std(0)
        Y = (Y - Y.mean(0)) / Y.std(0)
    else:
        X = rng.normal(size=(spec["rows"], sizes[0]))
        Y = rng.normal(size=(spec["rows"], sizes[-1]))
    return np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(Y, dtype=dtype)


def init_params(name: str, dtype: str) -> nf.Params:
    sizes = WORKLOADS[name]["sizes"]
    acts = ["relu"] * (len(sizes) - 2) + ["linear"]
    return nf.init(sizes, acts, np.random.default_rng(1), dtype=dtype)


# --- the hand-written NumPy reference -------------------------------------------------------


class RefNet:
    """The tightest plain NumPy SGD step we could write: no records, no validation.

    Samples as columns (``Zt = Wt @ At + b[:, None]``: the bias add and ``db = dZt @ ones``
    run along the long axis), weights stored ``Wt: (n_out, n_in)`` and updated in place,
    every work array preallocated per batch size, ``-lr * 2 / (n m)`` folded into the seed
    gradient once, ReLU backward as ``dZ *= (Z > 0)`` into a preallocated mask.
    """

    def __init__(self, params: nf.Params) -> None:
        self.Wt = [np.ascontiguousarray(layer.W.T) for layer in params.layers]
        self.b = [layer.b.copy() for layer in params.layers]
        self.bufs: dict[int, tuple[list[np.ndarray], ...]] = {}

    def _bufs(self, n: int) -> tuple[list[np.ndarray], ...]:
        if n not in self.bufs:
            dt = self.Wt[0].dtype
            Z = [np.empty((W.shape[0], n), dt) for W in self.Wt]
            A = [np.empty((W.shape[0], n), dt) for W in self.Wt]
            dA = [np.empty((W.shape[1], n), dt) for W in self.Wt]
            G = [np.empty_like(W) for W in self.Wt]
            g = [np.empty(W.shape[0], dt) for W in self.Wt]
            mask = [np.empty((W.shape[0], n), bool) for W in self.Wt]
            self.bufs[n] = (Z, A, dA, G, g, mask, [np.ones(n, dt)])
        return self.bufs[n]

    def forward_t(self, Xt: np.ndarray) -> np.ndarray:
        Z, A, _, _, _, _, _ = self._bufs(Xt.shape[1])
        a = Xt
        last = len(self.Wt) - 1
        for i, (W, b) in enumerate(zip(self.Wt, self.b, strict=True)):
            z = np.matmul(W, a, out=Z[i])
            z += b[:, None]
            a = z if i == last else np.maximum(z, 0, out=A[i])
        return a

    def step(self, X: np.ndarray, Y: np.ndarray, lr: float) -> None:
        n = X.shape[0]
        Z, A, dA, G, g, mask, (ones,) = self._bufs(n)
        Xt = X.T
        out = self.forward_t(Xt)
        d = np.subtract(out, Y.T, out=Z[-1])  # the output layer is linear: reuse its Z
        d *= d.dtype.type(-lr * 2.0 / d.size)
        for i in range(len(self.Wt) - 1, -1, -1):
            a_prev = Xt if i == 0 else A[i - 1]
            np.matmul(d, a_prev.T, out=G[i])
            np.matmul(d, ones, out=g[i])
            if i:
                dprev = np.matmul(self.Wt[i].T, d, out=dA[i])
                np.greater(Z[i - 1], 0, out=mask[i - 1])
                np.multiply(dprev, mask[i - 1], out=dprev)
                d = dprev
            self.Wt[i] += G[i]
            self.b[i] += g[i]

    def loss(self, X: np.ndarray, Y: np.ndarray) -> float:
        e = self.forward_t(X.T) - Y.T
        return float(np.vdot(e, e)) / e.size


class GemmFloor:
    """The matrix products of one step alone, in the reference's layout, into preallocated
    outputs: ``Wt @ At`` per layer forward, ``dZt @ At.T`` per layer and ``Wt.T @ dZt``
    per layer but the first backward (the bias gemv's are not counted)."""

    def __init__(self, sizes: tuple[int, ...], n: int, dtype: str) -> None:
        rng = np.random.default_rng(2)
        self.Wt = [rng.normal(size=(m, k)).astype(dtype) for k, m in itertools.pairwise(sizes)]
        self.A = [rng.normal(size=(k, n)).astype(dtype) for k in sizes]
        self.D = [rng.normal(size=(m, n)).astype(dtype) for m in sizes[1:]]
        self.G = [np.empty_like(W) for W in self.Wt]

    def step(self) -> None:
        for i, W in enumerate(self.Wt):
            np.matmul(W, self.A[i], out=self.A[i + 1])
        for i in range(len(self.Wt) - 1, -1, -1):
            np.matmul(self.D[i], self.A[i].T, out=self.G[i])
            if i:
                np.matmul(self.Wt[i].T, self.D[i], out=self.D[i - 1])


# --- the columns ----------------------------------------------------------------------------


def columns(name: str, dtype: str) -> dict[str, Callable[[], object]]:
    """One closure per column; each call is one training step (or, for ``epoch``, one epoch)."""
    spec = WORKLOADS[name]
    lr, batch, sizes = spec["lr"], spec["batch"], spec["sizes"]
    X, Y = make_data(name, dtype)
    epoch = name == "epoch"
    cols: dict[str, Callable[[], object]] = {}

    # nnfunc: the public API, validation included
    if epoch:
        data = nf.Dataset(X, Y)
        st = {"p": init_params(name, dtype), "rng": np.random.default_rng(3)}

        def nnfunc_epoch(opt: Any) -> Callable[[], object]:
            s = {"p": init_params(name, dtype), "rng": np.random.default_rng(3)}

            def run() -> object:
                s["p"] = nf.train(s["p"], data, s["rng"], epochs=1, batch_size=batch,
                                  optimizer=opt).params
                return s["p"]
            return run
        cols["nnfunc"] = nnfunc_epoch(nf.sgd(lr))
        cols["adam"] = nnfunc_epoch(nf.adam(lr))
        lst = {"p": init_params(name, dtype), "rng": np.random.default_rng(3)}

        def nnfunc_loop() -> object:  # the same epoch written with sgd_step, not train
            p, n = lst["p"], X.shape[0]
            order = lst["rng"].permutation(n)
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                p = nf.sgd_step(p, X[idx], Y[idx], lr)
            lst["p"] = p
            return nf.loss(p, X, Y)
        cols["loop"] = nnfunc_loop
    else:
        st = {"p": init_params(name, dtype)}

        def nnfunc_step() -> object:
            st["p"] = nf.sgd_step(st["p"], X, Y, lr)
            return st["p"]
        cols["nnfunc"] = nnfunc_step
        opt = nf.adam(lr)
        ast = {"p": init_params(name, dtype)}
        ast["s"] = opt.init(ast["p"])

        def adam_step() -> object:
            p = ast["p"]
            updates, ast["s"] = opt.update(nf.grads(p, X, Y), ast["s"], p)
            ast["p"] = nf.apply_updates(p, updates)
            return ast["p"]
        cols["adam"] = adam_step

    # the NumPy reference
    ref = RefNet(init_params(name, dtype))
    if epoch:
        rrng = np.random.default_rng(3)
        n = X.shape[0]
        Xb_full = np.empty((batch, X.shape[1]), dtype)
        Yb_full = np.empty((batch, Y.shape[1]), dtype)
        last = n % batch
        Xb_last = np.empty((last, X.shape[1]), dtype)
        Yb_last = np.empty((last, Y.shape[1]), dtype)

        def numpy_epoch() -> object:
            order = rrng.permutation(n)
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                xb, yb = (Xb_full, Yb_full) if len(idx) == batch else (Xb_last, Yb_last)
                np.take(X, idx, axis=0, out=xb)
                np.take(Y, idx, axis=0, out=yb)
                ref.step(xb, yb, lr)
            return ref.loss(X, Y)
        cols["numpy"] = numpy_epoch
    else:
        cols["numpy"] = lambda: ref.step(X, Y, lr)

    # scikit-learn
    try:
        from sklearn.neural_network import MLPRegressor

        mlp = MLPRegressor(hidden_layer_sizes=sizes[1:-1], activation="relu", solver="sgd",
                           alpha=0.0, batch_size=batch, learning_rate_init=lr, momentum=0.0,
                           nesterovs_momentum=False, shuffle=epoch, random_state=0)
        mlp.partial_fit(X, Y)
        cols["sklearn"] = lambda: mlp.partial_fit(X, Y)
    except ImportError:
        pass

    # PyTorch eager
    try:
        import torch
        import torch.nn.functional as F

        tdt = getattr(torch, dtype)
        torch.manual_seed(0)
        layers: list[torch.nn.Module] = []
        for k, m in itertools.pairwise(sizes):
            layers += [torch.nn.Linear(k, m), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1]).to(tdt)
        topt = torch.optim.SGD(model.parameters(), lr=lr)
        tX, tY = torch.from_numpy(X), torch.from_numpy(Y)

        def torch_step(xb: torch.Tensor, yb: torch.Tensor) -> None:
            topt.zero_grad(set_to_none=True)
            F.mse_loss(model(xb), yb).backward()
            topt.step()

        if epoch:
            tg = torch.Generator().manual_seed(3)

            def torch_epoch() -> object:
                perm = torch.randperm(tX.shape[0], generator=tg)
                for start in range(0, tX.shape[0], batch):
                    idx = perm[start:start + batch]
                    torch_step(tX[idx], tY[idx])
                with torch.no_grad():
                    return float(F.mse_loss(model(tX), tY))
            cols["torch"] = torch_epoch
        else:
            cols["torch"] = lambda: torch_step(tX, tY)
    except ImportError:
        pass

    # the GEMM floor
    if epoch:
        n = X.shape[0]
        floors = [GemmFloor(sizes, batch, dtype)] * (n // batch)
        if n % batch:
            floors.append(GemmFloor(sizes, n % batch, dtype))
        full = GemmFloor(sizes, n, dtype)

        def gemm_epoch() -> object:
            for f in floors:
                f.step()
            for i, W in enumerate(full.Wt):  # the epoch's loss on the whole set: forward only
                np.matmul(W, full.A[i], out=full.A[i + 1])
            return None
        cols["gemm"] = gemm_epoch
    else:
        cols["gemm"] = GemmFloor(sizes, batch, dtype).step
    return cols


# --- timing ---------------------------------------------------------------------------------


def self_check(name: str, dtype: str) -> float:
    """The NumPy reference computes what nnfunc computes: the largest weight difference after
    three steps from the same start (raises if it is not at rounding level)."""
    X, Y = make_data(name, dtype)
    lr = WORKLOADS[name]["lr"]
    p = init_params(name, dtype)
    ref = RefNet(p)
    for _ in range(3):
        p = nf.sgd_step(p, X, Y, lr)
        ref.step(X, Y, lr)
    err = max(float(np.max(np.abs(layer.W - W.T))) for layer, W in zip(p.layers, ref.Wt,
                                                                          strict=True))
    tol = 1e-10 if dtype == "float64" else 1e-5
    if not err <= tol:
        raise AssertionError(f"{name} {dtype}: reference and nnfunc differ by {err}")
    return err


def limit_threads(threads: int) -> None:
    """Cap the BLAS and PyTorch thread pools (0: leave the defaults, all cores)."""
    if threads <= 0:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def run_worker(name: str, reps: int, block_s: float) -> dict[str, Any]:
    """Median seconds per call of every (dtype, column), interleaved round-robin."""
    warnings.simplefilter("ignore")
    if name != "epoch":
        for dtype in DTYPES:
            self_check(name, dtype)
    cells: dict[tuple[str, str], Callable[[], object]] = {}
    for dtype in DTYPES:
        for col, fn in columns(name, dtype).items():
            cells[(dtype, col)] = fn
    # warm up and size the blocks so that one block takes about block_s
    counts: dict[tuple[str, str], int] = {}
    for key, fn in cells.items():
        fn()
        t0 = time.perf_counter()
        fn()
        fn()
        one = (time.perf_counter() - t0) / 2
        counts[key] = max(1, min(2000, int(block_s / max(one, 1e-9))))
    times: dict[tuple[str, str], list[float]] = {k: [] for k in cells}
    keys = list(cells)
    for r in range(reps):
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:  # rotate the order every repetition
            fn, k = cells[key], counts[key]
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            times[key].append((time.perf_counter() - t0) / k)
    out = {f"{d}/{c}": statistics.median(v) for (d, c), v in times.items()}
    # sanity: the trained nets are still finite (a diverged net would time NaN arithmetic)
    return {"median_s": out, "reps": reps, "calls": {f"{d}/{c}": k for (d, c), k in counts.items()}}


def run_memory() -> dict[str, Any]:
    """Peak extra memory of one nnfunc step (and of the NumPy reference), and growth of a
    training run from epoch 10 to epoch 100, with tracemalloc (NumPy reports its buffers)."""
    res: dict[str, Any] = {"step": {}, "growth": {}}
    tracemalloc.start()
    for name in ("seed", "small", "wide"):
        for dtype in DTYPES:
            X, Y = make_data(name, dtype)
            lr = WORKLOADS[name]["lr"]
            p = init_params(name, dtype)
            for _ in range(3):
                p = nf.sgd_step(p, X, Y, lr)
            out_bytes = sum(layer.W.nbytes + layer.b.nbytes for layer in p.layers)
            gc.collect()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            p2 = nf.sgd_step(p, X, Y, lr)
            peak = tracemalloc.get_traced_memory()[1] - base
            del p2
            ref = RefNet(p)
            for _ in range(3):
                ref.step(X, Y, lr)
            gc.collect()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            ref.step(X, Y, lr)
            ref_peak = tracemalloc.get_traced_memory()[1] - base
            res["step"][f"{name}/{dtype}"] = {"nnfunc_peak": peak, "params_bytes": out_bytes,
                                              "numpy_peak": ref_peak}
    # growth: 100 epochs of train (sgd) and of sgd_step loops, memory at epoch 10 vs 100
    for label in ("train", "sgd_step"):
        X, Y = make_data("epoch", "float64")
        data = nf.Dataset(X, Y)
        p = init_params("epoch", "float64")
        rng = np.random.default_rng(4)
        mem: dict[int, int] = {}
        batch = WORKLOADS["epoch"]["batch"]
        for epoch in range(1, 101):
            if label == "train":
                p = nf.train(p, data, rng, epochs=1, batch_size=batch,
                             optimizer=nf.sgd(0.01)).params
            else:
                order = rng.permutation(len(X))
                for s in range(0, len(X), batch):
                    idx = order[s:s + batch]
                    p = nf.sgd_step(p, X[idx], Y[idx], 0.01)
            if epoch in (10, 100):
                gc.collect()
                mem[epoch] = tracemalloc.get_traced_memory()[0]
        res["growth"][label] = {"epoch10": mem[10], "epoch100": mem[100]}
    tracemalloc.stop()
    return res


# --- the report -----------------------------------------------------------------------------


def fmt_time(s: float) -> str:
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def machine_info() -> list[str]:
    lines = [f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
             f"- python {platform.python_version()}, numpy {np.__version__}, "
             f"nnfunc {nf.__version__}"]
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines.append(f"- cores: {os.cpu_count()} ({cpu or platform.machine()}); load average "
                 f"at the end of the run: {os.getloadavg()[0]:.2f} (1 min)")
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            lines.append(f"- BLAS (threadpoolctl): {info.get('internal_api')} "
                         f"{info.get('version')}, {info.get('num_threads')} threads, "
                         f"{info.get('threading_layer', '')} {info.get('architecture', '')}, "
                         f"{os.path.basename(info.get('filepath', ''))}")
    except ImportError:
        lines.append("- BLAS: threadpoolctl not installed")
    try:
        import sklearn

        lines.append(f"- scikit-learn {sklearn.__version__}")
    except ImportError:
        lines.append("- scikit-learn: not installed (column skipped)")
    try:
        import torch

        lines.append(f"- torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        lines.append("- torch: not installed (column skipped)")
    return lines


TARGETS = """\
Targets (issue 4): seed and small: nnfunc >= 3x faster than PyTorch (both dtypes); wide:
>= 1.2x faster than PyTorch in float64 and within 1.15x of the GEMM floor; float32 >= 1.6x
faster than float64 on wide; epoch >= 3x faster than both peers; nnfunc within 1.3x of the
NumPy reference everywhere."""


def check_targets(res: dict[str, dict[str, float]]) -> list[str]:
    out = []

    def t(w: str, d: str, c: str) -> float | None:
        return res.get(w, {}).get(f"{d}/{c}")

    def line(ok: bool, text: str) -> None:
        out.append(f"- [{'x' if ok else ' '}] {text}")

    for w in WORKLOADS:
        for d in DTYPES:
            nn, ref = t(w, d, "nnfunc"), t(w, d, "numpy")
            if nn is None or ref is None:
                continue
            line(nn <= 1.3 * ref, f"{w} {d}: nnfunc / NumPy ref = {nn / ref:.2f} (<= 1.3)")
            peers = ("torch",) if w != "epoch" else ("torch", "sklearn")
            need = {"seed": 3.0, "small": 3.0, "wide": 1.2, "epoch": 3.0}[w]
            if w == "wide" and d == "float32":
                continue
            for peer in peers:
                pt = t(w, d, peer)
                if pt is not None:
                    line(pt >= need * nn, f"{w} {d}: {TITLES[peer]} / nnfunc = {pt / nn:.2f} "
                         f"(>= {need})")
    for d in DTYPES:
        nn, g = t("wide", d, "nnfunc"), t("wide", d, "gemm")
        if nn is not None and g is not None:
            ok = nn <= 1.15 * g
            note = "" if d == "float64" else ", not a target in float32"
            line(ok if d == "float64" else True,
                 f"wide {d}: nnfunc / GEMM floor = {nn / g:.2f} (<= 1.15{note})")
    a, b = t("wide", "float64", "nnfunc"), t("wide", "float32", "nnfunc")
    if a is not None and b is not None:
        line(a >= 1.6 * b, f"wide: nnfunc float64 / float32 = {a / b:.2f} (>= 1.6)")
    return out


def report(results: dict[str, Any], mem: dict[str, Any] | None, reps: int) -> str:
    lines = ["# nnfunc benchmark", "", *machine_info(), "",
             f"Median of {reps} interleaved repetitions per cell (each a block of calls); one "
             "process per workload. Cells: time per training step (per epoch for `epoch`) "
             "and, in parentheses, the ratio to the NumPy reference (lower is faster).", ""]
    cols = [c for c in COLUMNS if any(f"{d}/{c}" in results[w]["median_s"]
                                      for w in results for d in DTYPES)]
    lines.append("| workload | dtype | " + " | ".join(TITLES[c] for c in cols) + " |")
    lines.append("|---|---|" + "---:|" * len(cols))
    for w, spec in WORKLOADS.items():
        if w not in results:
            continue
        med = results[w]["median_s"]
        arch = "-".join(map(str, spec["sizes"]))
        what = f"{w} ({arch}, batch {spec['batch']}" + (", 7000 rows" if w == "epoch" else "") + ")"
        for d in DTYPES:
            ref = med.get(f"{d}/numpy")
            cells = []
            for c in cols:
                v = med.get(f"{d}/{c}")
                if v is None:
                    cells.append("—")
                else:
                    r = f" ({v / ref:.2f}x)" if ref else ""
                    cells.append(f"{fmt_time(v)}{r}")
            lines.append(f"| {what} | {d} | " + " | ".join(cells) + " |")
    lines += ["", "nnfunc adam is the Adam path (`grads` + `adam().update` + `apply_updates`), "
              "not SGD: its ratio compares a different algorithm with the SGD reference.",
              "`epoch` = one epoch of `nnfunc.train` (shuffle, 55 batches of 128, then the "
              "loss on all 7,000 rows); the peers do the same (sklearn: one `partial_fit` "
              "with batch_size=128 and shuffle, which also shuffles and computes the loss). "
              "nnfunc loop: the same epoch as a loop over `sgd_step` (shuffle, gather, step, "
              "`loss`), to separate `train`'s own cost from the step's.",
              "", "## Targets", "", TARGETS, "",
              *check_targets({w: results[w]["median_s"] for w in results})]
    if mem is not None:
        lines += ["", "## Memory (tracemalloc)", "",
                  "Peak extra memory of one `sgd_step` after warm-up (the new params are "
                  "part of it: a pure step must return fresh arrays) and of the reference "
                  "step (in place):", "",
                  "| workload | dtype | nnfunc peak | of which new params | NumPy ref peak |",
                  "|---|---|---:|---:|---:|"]
        for key, v in mem["step"].items():
            w, d = key.split("/")
            lines.append(f"| {w} | {d} | {v['nnfunc_peak'] / 1024:.1f} KiB | "
                         f"{v['params_bytes'] / 1024:.1f} KiB | {v['numpy_peak'] / 1024:.1f} KiB |")
        lines += ["", "Growth over a run (2-16-16-3, batch 128, 7,000 rows, float64), memory "
                  "traced after epoch 10 and after epoch 100:", ""]
        for label, v in mem["growth"].items():
            grow = v["epoch100"] - v["epoch10"]
            ok = grow <= 16 * 1024
            lines.append(f"- [{'x' if ok else ' '}] {label}: {v['epoch10'] / 1024:.1f} KiB -> "
                         f"{v['epoch100'] / 1024:.1f} KiB ({grow / 1024:+.1f} KiB; "
                         "no growth means <= 16 KiB)")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", choices=[*WORKLOADS, "memory"])
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--block", type=float, default=0.02, help="seconds per timed block")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--threads", type=int, default=0,
                    help="cap BLAS and torch threads (default 0: all cores, as users get)")
    args = ap.parse_args()
    limit_threads(args.threads)
    if args.worker == "memory":
        print(json.dumps(run_memory()))
        return
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.reps, args.block)))
        return
    results: dict[str, Any] = {}
    me = os.path.abspath(__file__)
    for w in args.workloads.split(","):
        t0 = time.perf_counter()
        cp = subprocess.run([sys.executable, me, "--worker", w, "--reps", str(args.reps),
                             "--block", str(args.block), "--threads", str(args.threads)],
                            capture_output=True, text=True, check=True)
        results[w] = json.loads(cp.stdout.strip().splitlines()[-1])
        print(f"# {w}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    mem = None
    if not args.no_memory:
        cp = subprocess.run([sys.executable, me, "--worker", "memory"], capture_output=True,
                            text=True, check=True)
        mem = json.loads(cp.stdout.strip().splitlines()[-1])
    text = report(results, mem, args.reps)
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"(written to {os.path.relpath(args.out)})", file=sys.stderr)


if __name__ == "__main__":
    main()
