"""``python -m nnfunc``: the tutorial's nine steps, end to end, printed step by step."""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import nnfunc as nf
from nnfunc.train import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS

CASES = ((30.0, 70.0), (70.0, 30.0), (3.0, 5.0), (888.0, 122.0))


def _truth(a: float, b: float) -> tuple[float, float, float]:
    return a + b, a - b, abs(a - b)


def _keep(out: str, model: nf.Model, history: nf.History, test_raw: nf.Dataset,
          n_train: int) -> None:
    """After the nine steps: save the model, reload it, summarise it, draw two pictures."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"Keep    save, reload, inspect and draw, into {folder}{os.sep}")
    path = nf.save(model, folder / "model.npz")
    print(f"        model saved to {path} ({path.stat().st_size} bytes); "
          "load it with nnfunc.load(path)")
    back = nf.load(path)
    same = nf.predict(back, test_raw.X).tobytes() == nf.predict(model, test_raw.X).tobytes()
    print(f"        reloaded {back!r}; reloaded predictions equal bit for bit: {same}")
    for line in str(nf.summary(back, n_samples=n_train)).splitlines():
        print(f"        {line}")
    loss_png, pred_png = folder / "loss.png", folder / "predictions.png"
    try:
        nf.plot_history(history, loss_png)
        nf.plot_predictions(back, test_raw.X, test_raw.Y, pred_png,
                            names=["a + b", "a - b", "|a - b|"],
                            title=f"predicted vs true on the {len(test_raw)} test rows, raw units")
    except ModuleNotFoundError as err:
        if err.name != "matplotlib":
            raise
        print("        pictures skipped: matplotlib is not installed. Get it with "
              f"{nf.plot.INSTALL_HINT} (make demo installs it)")
    else:
        print(f"        pictures written: {loss_png} and {pred_png}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nnfunc", description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, nargs="*", default=[4, 4],
                    help="hidden layer widths (default: the tutorial's own 4 4; try 16 16)")
    ap.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--out", metavar="DIR", default=None,
                    help="save the model (model.npz) and pictures (loss.png, predictions.png) "
                         "in DIR, created if needed")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    print("Step 1  reproducible start")
    rng = np.random.default_rng(args.seed)
    print(f"        rng = np.random.default_rng({args.seed})")

    print("Step 2  data: a, b ~ U[0, 100); targets a+b, a-b, |a-b|")
    data = nf.make_tutorial_data(rng)
    print(f"        {data!r}")

    print("Step 3  split 70 % train / 30 % test (first rows train, as in the tutorial)")
    train_raw, test_raw = nf.split(data, test_fraction=0.3)
    print(f"        train {len(train_raw)} rows, test {len(test_raw)} rows")

    print("Step 4  standardize with scalers fit on the training set only")
    x_scaler, y_scaler = nf.fit_scaler(train_raw.X), nf.fit_scaler(train_raw.Y)
    train_set = nf.Dataset(nf.transform(x_scaler, train_raw.X), nf.transform(y_scaler, train_raw.Y))
    test_set = nf.Dataset(nf.transform(x_scaler, test_raw.X), nf.transform(y_scaler, test_raw.Y))
    print(f"        x mean {np.round(x_scaler.mean, 3)}, std {np.round(x_scaler.std, 3)}")

    sizes = [2, *args.hidden, 3]
    acts = ["relu"] * len(args.hidden) + ["linear"]
    print(f"Step 5  layers {'-'.join(map(str, sizes))} ({', '.join(acts)})")
    params = nf.init(sizes, acts, rng)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", nf.CapacityWarning)
        counted = nf.check_capacity(params, len(train_set))
    print(f"        parameters by formula {nf.n_params(sizes)}, by counting {counted}, "
          f"training rows {len(train_set)}")
    for w in caught:
        print(f"        warning: {w.message}")

    print("Step 6  forward propagation: Z = A @ W + b, A = f(Z)")
    print(f"        first test row -> {np.round(nf.forward(params, test_set.X[:1]), 3)} "
          "(untrained)")

    print("Step 7  back-propagation: exact gradient, checked against finite differences")
    small = nf.Dataset._trusted(train_set.X[:8].copy(), train_set.Y[:8].copy())
    err = nf.grad_check(params, small.X, small.Y)
    print(f"        worst relative error of grads vs central differences: {err:.1e}")

    print(f"Step 8  gradient descent with train's defaults: Adam, cosine learning rate after a "
          f"warm-up, dead-ReLU revival; batch {args.batch_size}, {args.epochs} epochs")

    def report(epoch: int, p: nf.Params, hist: nf.History) -> None:
        last = epoch + 1 == args.epochs
        if epoch == 0 or (epoch + 1) % max(1, args.epochs // 6) == 0 or last:
            te = hist.test_loss[-1] if hist.test_loss is not None else float("nan")
            print(f"        epoch {epoch + 1:4d}  train {hist.train_loss[-1]:.2e}  test {te:.2e}")

    result = nf.train(params, train_set, rng, epochs=args.epochs, batch_size=args.batch_size,
                      test=test_set, on_epoch=report)
    print(f"        optimizer {result.optimizer!r}")

    print("Step 9  test")
    train_mse = nf.loss(result.params, train_set.X, train_set.Y)
    test_mse = nf.loss(result.params, test_set.X, test_set.Y)
    print(f"        final MSE (standardized): train {train_mse:.2e}, test {test_mse:.2e}")
    model = nf.Model(result.params, x_scaler, y_scaler)
    pred = nf.predict(model, np.array(CASES))
    lo, hi = train_raw.X.min(axis=0), train_raw.X.max(axis=0)
    print("        (a, b)        predicted (a+b, a-b, |a-b|)     true")
    for (a, b), row in zip(CASES, pred, strict=True):
        inside = lo[0] <= a <= hi[0] and lo[1] <= b <= hi[1]
        note = "" if inside else "  <- outside the training range [0, 100): extrapolation"
        pred_s = ", ".join(f"{v:8.2f}" for v in row)
        true_s = ", ".join(f"{v:6.0f}" for v in _truth(a, b))
        print(f"        ({a:g}, {b:g})".ljust(22) + f"({pred_s})   ({true_s}){note}")
    print(f"        wall time {time.perf_counter() - t0:.1f} s")
    if args.out is None:
        print("Keep    pass --out DIR to save the model and draw its pictures there")
    else:
        _keep(args.out, model, result.history, test_raw, len(train_set))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
