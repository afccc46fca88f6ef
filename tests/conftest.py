"""Shared strategies and settings.  NumPy floating-point warnings are errors in every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile("thorough", deadline=None, max_examples=2000,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# CI runs the same examples every time (a red CI then means a real regression, reproducible
# with CI=true locally); local runs keep exploring new random examples.
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True, database=None,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(autouse=True)
def _numpy_raises() -> Iterator[None]:
    with np.errstate(all="raise"):
        yield
