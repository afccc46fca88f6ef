"""The errors and warnings nnfunc raises.

Every error derives from :class:`NnfuncError` *and* from the matching built-in
(``ValueError``, ``TypeError``, ``ArithmeticError``), so code that already catches
``ValueError`` keeps working.  Every message has one shape::

    <where>: <argument> must be <expected>; got <what came>. <hint, if any>

where ``<where>`` names the function or record and, when there is one, the layer
(``layer 2``) or column (``column 0``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CapacityWarning",
    "DTypeError",
    "DataError",
    "DeadUnitsWarning",
    "DivergenceError",
    "FileFormatError",
    "HyperParameterError",
    "NnfuncError",
    "NnfuncWarning",
    "NonFiniteError",
    "ScaleWarning",
    "ShapeError",
    "UnknownActivationError",
    "expected",
]


class NnfuncError(Exception):
    """Base class of every error nnfunc raises on purpose."""


class DataError(NnfuncError, ValueError):
    """Data that is well-formed (right type, shape, finite) but unusable: a constant column
    cannot be standardized, too few rows to split into two non-empty parts."""


class ShapeError(NnfuncError, ValueError):
    """An array has the wrong number of dimensions, rows or columns, or is empty."""


class DTypeError(NnfuncError, TypeError):
    """An argument has the wrong type or dtype: an integer, boolean, complex, object or
    string array; a string, ``None`` or a Dataset where an array is expected; something
    that is not a ``Params``, a ``numpy.random.Generator``, a number..."""


class NonFiniteError(NnfuncError, ValueError):
    """An array holds NaN or infinity where finite numbers are required, or finite inputs
    are so large that the arithmetic would overflow (``forward`` of values near 1e308):
    nnfunc raises this rather than return ``inf`` or let NumPy's ``FloatingPointError``
    or ``RuntimeWarning`` out."""


class HyperParameterError(NnfuncError, ValueError):
    """A hyper-parameter is out of its range: learning rate < 0 or non-finite (``lr = 0`` is
    allowed and leaves the params unchanged), epochs < 0, batch size < 1 or larger than the
    data, test fraction outside (0, 1), a negative l2, a layer width < 1."""


class UnknownActivationError(NnfuncError, ValueError):
    """An activation name is not in the registry; the message lists the known names."""


class FileFormatError(NnfuncError, ValueError):
    """A file is not a readable nnfunc model: truncated, corrupted, foreign, another version."""


class DivergenceError(NnfuncError, ArithmeticError):
    """Training produced a non-finite loss, gradient or parameter.

    Attributes
    ----------
    last_finite:
        The last finite params: :func:`nnfunc.train` attaches the ``Params`` from
        just before the step that went wrong, so no work is lost.
    result:
        What :func:`nnfunc.train` attaches besides: a ``TrainResult`` of the epochs that
        completed (params, optimizer state, history), which ``train`` can resume.
    """

    def __init__(self, message: str, last_finite: Any = None, result: Any = None) -> None:
        super().__init__(message)
        self.last_finite = last_finite
        self.result = result


class NnfuncWarning(UserWarning):
    """Base class of nnfunc's warnings."""


class CapacityWarning(NnfuncWarning):
    """The network has at least as many parameters as there are data points."""


class DeadUnitsWarning(NnfuncWarning):
    """More than half of a ReLU layer's units output zero for every training row."""


class ScaleWarning(NnfuncWarning):
    """Data is finite but so large that training without standardization is likely to fail."""


def expected(where: str, what: str, should: str, got: str, hint: str = "") -> str:
    """Format the one message shape every nnfunc error uses.

    >>> expected("Dataset", "X", "a 2-D array (n_samples, n_features)", "shape (3,)")
    'Dataset: X must be a 2-D array (n_samples, n_features); got shape (3,).'
    """
    message = f"{where}: {what} must be {should}; got {got}."
    return f"{message} {hint}" if hint else message
