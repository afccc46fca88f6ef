"""Quality benchmark: does ``train`` with its defaults solve the tutorial's task?

The tutorial's task: 10,000 points ``a, b ~ U[0, 100)``, targets ``a+b, a-b, |a-b|``, the
first 70 % for training and the last 30 % for testing, input and target scalers fit on the
training rows.  For each network and each of five seeds (the seed makes the data, the
initial params and the shuffles), ``nnfunc.train`` runs with its defaults; the table gives
the test MSE (standardized, mean over samples and outputs) as median / best / worst, how
many seeds reached 1e-4, and the median wall seconds of the training call.  When
scikit-learn is installed, ``MLPRegressor`` with its defaults (same hidden sizes, same data,
``random_state=seed``) runs in the same process for comparison.

Run: ``make bench-quality`` (builds its own environment), or
``python bench/quality.py [--seeds 5] [--epochs N --lr X --batch-size B]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

import nnfunc as nf
from nnfunc.train import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS

NETWORKS: tuple[tuple[int, ...], ...] = ((2, 4, 4, 3), (2, 16, 16, 3))
TARGET = 1e-4


def task(seed: int) -> tuple[nf.Dataset, nf.Dataset]:
    data = nf.make_tutorial_data(np.random.default_rng(seed), 10_000)
    tr, te = nf.split(data, test_fraction=0.3)
    xs, ys = nf.fit_scaler(tr.X), nf.fit_scaler(tr.Y)
    return (nf.Dataset(nf.transform(xs, tr.X), nf.transform(ys, tr.Y)),
            nf.Dataset(nf.transform(xs, te.X), nf.transform(ys, te.Y)))


def run_nnfunc(sizes: Sequence[int], seed: int, args: argparse.Namespace
               ) -> tuple[float, float]:
    train, test = task(seed)
    rng = np.random.default_rng(1000 + seed)
    params = nf.init(sizes, ["relu"] * (len(sizes) - 2) + ["linear"], rng)
    kw: dict[str, object] = {}
    if args.epochs is not None:
        kw["epochs"] = args.epochs
    if args.batch_size is not None:
        kw["batch_size"] = args.batch_size
    if args.lr is not None:
        epochs = args.epochs or DEFAULT_EPOCHS
        size = args.batch_size or DEFAULT_BATCH_SIZE
        steps = epochs * -(-len(train) // size)
        kw["optimizer"] = nf.adam(nf.cosine(args.lr, steps, warmup_steps=steps // 20))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.DeadUnitsWarning)
        res = nf.train(params, train, rng, **kw)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    return nf.loss(res.params, test.X, test.Y), seconds


def run_sklearn(sizes: Sequence[int], seed: int) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    train, test = task(seed)
    model = MLPRegressor(hidden_layer_sizes=tuple(sizes[1:-1]), random_state=seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train.X, train.Y)
    seconds = time.perf_counter() - t0
    pred = model.predict(test.X)
    return float(np.mean((pred - test.Y) ** 2)), seconds


def row(name: str, runs: list[tuple[float, float]]) -> tuple[str, float]:
    mses = [m for m, _ in runs]
    secs = statistics.median(s for _, s in runs)
    hit = sum(m <= TARGET for m in mses)
    return (f"| {name:<34} | {statistics.median(mses):9.2e} | {min(mses):9.2e} | "
            f"{max(mses):9.2e} | {f'{hit}/{len(mses)}':>7} | {secs:8.2f} |"), secs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None, help="override train's default")
    ap.add_argument("--lr", type=float, default=None, help="peak of the cosine schedule")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--no-sklearn", action="store_true")
    args = ap.parse_args(argv)
    try:
        import sklearn
        have_sklearn = not args.no_sklearn
        sk_version = sklearn.__version__
    except ImportError:
        have_sklearn, sk_version = False, ""
    if args.no_sklearn:
        sk_note = " (scikit-learn left out: --no-sklearn)"
    elif not have_sklearn:
        sk_note = " (scikit-learn not installed: pip install scikit-learn)"
    else:
        sk_note = f", scikit-learn {sk_version}"
    seeds = range(args.seeds)
    print(f"nnfunc {nf.__version__}, numpy {np.__version__}{sk_note}; {os.cpu_count()} cores")
    print(f"tutorial task, 10,000 points, 70/30, standardized; {len(seeds)} seeds; "
          f"test MSE (standardized)")
    print()
    print(f"| {'network / library':<34} | {'median':>9} | {'best':>9} | {'worst':>9} | "
          f"{'<= 1e-4':>7} | {'median s':>8} |")
    print(f"|{'-' * 36}|{'-' * 10}:|{'-' * 10}:|{'-' * 10}:|{'-' * 8}:|{'-' * 9}:|")
    times: dict[tuple[str, tuple[int, ...]], float] = {}
    for sizes in NETWORKS:
        arch = "-".join(map(str, sizes))
        runners: list[tuple[str, Callable[[int], tuple[float, float]]]] = [
            ("nnfunc train()", lambda s, z=sizes: run_nnfunc(z, s, args))]
        if have_sklearn:
            runners.append(("sklearn MLPRegressor()", lambda s, z=sizes: run_sklearn(z, s)))
        for lib, fn in runners:
            text, secs = row(f"{arch} {lib}", [fn(s) for s in seeds])
            times[(lib, sizes)] = secs
            print(text, flush=True)
    if have_sklearn:
        print()
        for sizes in NETWORKS:
            ratio = times[("nnfunc train()", sizes)] / times[("sklearn MLPRegressor()", sizes)]
            print(f"{'-'.join(map(str, sizes))}: nnfunc time / scikit-learn default fit time "
                  f"= {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
