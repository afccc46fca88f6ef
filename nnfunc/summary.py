"""Inspection: a table of a network's layers, its parameter count and the capacity check.

:func:`summary` returns a :class:`Summary` record whose ``str`` (and REPL display) is the
table, and whose fields hold the same figures for code to use::

    >>> print(nf.summary(params, n_samples=7000))
    layer  W (n_in, n_out)  activation  parameters  = (n_in + 1) * n_out
        0  (2, 16)          relu                48  = (2 + 1) * 16
    ...

The count per layer is the formula ``(n_in + 1) * n_out`` (weights plus one bias per
unit) and the total is ``sum((n_in + 1) * n_out)`` (:func:`nnfunc.n_params`), checked
against counting the entries of every ``W`` and ``b`` (:func:`nnfunc.count_params`).
With ``n_samples`` the table ends with the tutorial's capacity check: a network with at
least as many parameters as training samples can memorise them instead of learning.
Unlike :func:`nnfunc.check_capacity`, :func:`summary` only reports; it never warns.
"""

from __future__ import annotations

import attrs

from ._checks import check_int
from .errors import DTypeError, expected
from .model import Model
from .params import Params, count_params, n_params

__all__ = ["LayerSummary", "Summary", "summary"]


@attrs.frozen(slots=True)
class LayerSummary:
    """One row: layer ``index`` with ``W: (n_in, n_out)``, its ``activation`` name, and
    ``n_params = (n_in + 1) * n_out``."""

    index: int
    n_in: int
    n_out: int
    activation: str
    n_params: int


@attrs.frozen(slots=True, repr=False)
class Summary:
    """What :func:`summary` returns; ``str(s)`` and ``repr(s)`` are the table.

    Attributes
    ----------
    layers:
        One :class:`LayerSummary` per layer, input first.
    total:
        ``sum((n_in + 1) * n_out)`` over the layers.
    dtype:
        The params' dtype name.
    n_samples:
        The training set size the capacity check used, or ``None``.
    """

    layers: tuple[LayerSummary, ...]
    total: int
    dtype: str
    n_samples: int | None = None

    @property
    def over_capacity(self) -> bool | None:
        """``total >= n_samples`` (``None`` without ``n_samples``)."""
        return None if self.n_samples is None else self.total >= self.n_samples

    def __str__(self) -> str:
        head = ("layer", "W (n_in, n_out)", "activation", "parameters", "= (n_in + 1) * n_out")
        rows = [(str(r.index), f"({r.n_in}, {r.n_out})", r.activation, str(r.n_params),
                 f"= ({r.n_in} + 1) * {r.n_out}") for r in self.layers]
        total = ("total", "", "", str(self.total), "= sum((n_in + 1) * n_out)")
        widths = [max(len(row[c]) for row in (head, *rows, total)) for c in range(5)]

        def line(row: tuple[str, ...]) -> str:
            cells = [row[0].rjust(widths[0]) if row[0] != "total" else row[0].ljust(widths[0]),
                     row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                     row[3].rjust(widths[3]), row[4]]
            return "  ".join(cells).rstrip()

        sizes = "-".join(str(s) for s in (self.layers[0].n_in, *(r.n_out for r in self.layers)))
        out = [f"network {sizes}, {self.dtype}", line(head), *map(line, rows), line(total)]
        if self.n_samples is not None:
            ratio = self.total / self.n_samples
            verdict = ("at least one parameter per sample: it can memorise rather than "
                       "generalise; use a smaller network or more data"
                       if self.over_capacity else "fewer parameters than samples: fine")
            out.append(f"capacity: {self.total} parameters for {self.n_samples} training samples "
                       f"({ratio:.3g} per sample): {verdict}")
        return "\n".join(out)

    __repr__ = __str__


def summary(params: Params | Model, n_samples: int | None = None) -> Summary:
    """A :class:`Summary` of ``params`` (or of a :class:`~nnfunc.Model`'s params).

    ``n_samples``, the number of training samples, adds the capacity check.
    """
    where = "summary"
    p = params.params if isinstance(params, Model) else params
    if not isinstance(p, Params):
        raise DTypeError(expected(where, "params", "an nnfunc.Params or nnfunc.Model",
                                  type(params).__name__))
    n = None if n_samples is None else check_int(n_samples, where=where, name="n_samples", low=1)
    rows = tuple(LayerSummary(i, layer.n_in, layer.n_out, layer.activation.name,
                              (layer.n_in + 1) * layer.n_out)
                 for i, layer in enumerate(p.layers))
    total = n_params(p.sizes)
    assert total == count_params(p) == sum(r.n_params for r in rows)
    return Summary(rows, total, str(p.dtype), n)
