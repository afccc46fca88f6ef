"""The demo runs the nine steps end to end (a short run; `make demo` does the full one)."""

from __future__ import annotations

import pytest

from nnfunc.__main__ import main


def test_demo_prints_the_nine_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--epochs", "2"]) == 0
    out = capsys.readouterr().out
    for step in range(1, 10):
        assert f"Step {step}" in out
    assert "(888, 122)" in out and "outside the training range" in out
    assert "parameters by formula 47, by counting 47" in out


def test_the_default_demo_learns_the_tutorials_task(capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo`'s own settings: the tutorial's 2-4-4-3 network reaches test MSE <= 1e-4."""
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "layers 2-4-4-3 (relu, relu, linear)" in out
    final = next(line for line in out.splitlines() if "final MSE (standardized)" in line)
    test_mse = float(final.rsplit("test", 1)[1])
    assert test_mse <= 1e-4
