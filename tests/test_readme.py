"""The README's REPL session runs as written and prints what the README says it prints.

The first ``python`` block (the nine steps) is executed; its printed output is compared with
the block that follows it.  The ``>>>`` session after it ("Keep it, inspect it, look at it")
continues in the same namespace and is checked with doctest.  Numbers are compared with a
tolerance (training on another CPU's BLAS may round differently); everything else exactly.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


def _blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)]


def _numbers(text: str) -> list[float]:
    return [float(x) for x in NUMBER.findall(text)]


def _close(want: str, got: str) -> bool:
    """Equal once numbers are taken out, and every number within 1e-3 relative or 0.05."""
    if NUMBER.sub("#", want).split() != NUMBER.sub("#", got).split():
        return False
    w, g = _numbers(want), _numbers(got)
    return len(w) == len(g) and all(
        abs(a - b) <= max(0.05, 1e-3 * abs(a)) for a, b in zip(w, g, strict=True))


class _NumberTolerantChecker(doctest.OutputChecker):
    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        return super().check_output(want, got, optionflags) or _close(want, got)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, str]:
    text = README.read_text()
    section = text[text.index("## The nine steps at the REPL"):]
    blocks = _blocks(section)
    code = next(body for lang, body in blocks if lang == "python" and ">>>" not in body)
    printed = blocks[blocks.index(("python", code)) + 1][1]
    namespace: dict[str, Any] = {"__name__": "readme"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), np.errstate(all="warn"):
        exec(compile(code, str(README), "exec"), namespace)
    return namespace, printed, out.getvalue()


def test_the_nine_steps_print_what_the_readme_says(
    session: tuple[dict[str, Any], str, str]
) -> None:
    _, printed, got = session
    want = _numbers(printed)
    have = _numbers(got)
    assert len(have) == len(want) == 1 + 12
    assert have[0] <= 1e-4  # the test MSE, standardized
    assert want[0] <= 1e-4
    # predictions in raw units: the three in-range cases agree to 0.1, the out-of-range one
    # (extrapolation, sensitive to the last bits of training) to 5 units
    np.testing.assert_allclose(have[1:10], want[1:10], atol=0.1)
    np.testing.assert_allclose(have[10:], want[10:], atol=5.0)
    np.testing.assert_allclose(np.reshape(have[1:10], (3, 3)),
                               [[100, -40, 40], [100, 40, 40], [8, -2, 2]], atol=0.3)


def test_the_keep_it_session_runs_as_written(
    session: tuple[dict[str, Any], str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    namespace, _, _ = session
    text = README.read_text()
    section = text[text.index("## Keep it, inspect it, look at it"):]
    doc = next(body for lang, body in _blocks(section) if ">>>" in body)
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(doc, dict(namespace), "README keep-it", None, 0)
    runner = doctest.DocTestRunner(checker=_NumberTolerantChecker(),
                                   optionflags=doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    result = runner.run(test, out=report.write)
    assert result.failed == 0, report.getvalue()
    assert result.attempted >= 8
    assert (tmp_path / "model.npz").stat().st_size > 0
    assert (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")
