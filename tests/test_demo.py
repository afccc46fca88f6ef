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
    assert "parameters by formula 371, by counting 371" in out
