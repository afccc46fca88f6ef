"""Keeping a model: :func:`save` and :func:`load` to one ``.npz`` file.

The file is a plain NumPy ``.npz`` (a zip archive of ``.npy`` arrays), readable without
nnfunc, holding:

``header``
    UTF-8 JSON as a ``uint8`` array: ``{"format": "nnfunc.model", "version": 1,
    "sizes": [2, 16, 16, 3], "activations": ["relu", "relu", "linear"],
    "dtype": "float64", "scaler_dtypes": {"x_scaler": "float64", "y_scaler": "float64"},
    "nnfunc": "0.1.0"}``.
``layers.<l>.W: (n_in, n_out)``, ``layers.<l>.b: (n_out,)``
    One pair per layer ``l = 0 .. len(sizes) - 2``, in ``dtype``.
``x_scaler.mean``, ``x_scaler.std: (n_features,)``
``y_scaler.mean``, ``y_scaler.std: (n_outputs,)``
    In their own dtypes (a float32 network may keep float64 scalers).

Contract:

- ``load(save(model, path)) == model``, bit for bit, for float32 and float64.
- :func:`load` never unpickles anything (``allow_pickle=False``); it reads the header
  first, then checks every member's presence, size, dtype and shape against it, and
  refuses a truncated, corrupted (zip CRC), wrong-version or foreign file with a
  :class:`~nnfunc.FileFormatError` naming the path and what was wrong.  A missing file
  or an unreadable folder raises the operating system's own ``OSError``.
- ``path`` is a ``str`` or an ``os.PathLike``; anything else (``None``, bytes, a number,
  an open file) is a :class:`~nnfunc.DTypeError`.  A real filesystem problem stays an
  ``OSError`` of the usual subclass, with a message naming the path: :func:`save` to a
  folder is ``IsADirectoryError``, into a folder that does not exist
  ``FileNotFoundError``, into one you may not write ``PermissionError``.
- :func:`save` is atomic: it writes a temporary file in the target's folder, flushes and
  fsyncs it, then renames it over the target with ``os.replace``.  A crash or an error
  at any point leaves the previous file, if any, intact and loadable, and removes the
  temporary file when it can.

Activations are stored by name.  The built-in ones (:data:`nnfunc.ACTIVATIONS`) load by
themselves.  A custom :class:`~nnfunc.Activation` saves under its own name (which must
not be a built-in's), and loading it needs the record back:
``load(path, activations={"swish": swish})``; without it, :func:`load` raises
:class:`~nnfunc.UnknownActivationError` saying so.  (Code cannot be stored safely in a
data file, so nnfunc does not try.)
"""

from __future__ import annotations

import errno
import io
import itertools
import json
import math
import os
import secrets
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import FLOAT_DTYPES, FloatArray, check_path
from .activations import ACTIVATIONS, Activation
from .errors import (
    DTypeError,
    FileFormatError,
    NnfuncError,
    UnknownActivationError,
    expected,
)
from .model import Model
from .params import Layer, Params
from .scaling import Scaler

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "save"]

FORMAT = "nnfunc.model"
"""The ``format`` field of every nnfunc model file."""
FORMAT_VERSION = 1
"""The file format version this nnfunc writes and reads."""

_HEADER = "header"
_MAX_HEADER_BYTES = 1 << 20
_NPY_HEADER_SLACK = 4096  # an .npy member is its data plus a header of (usually) 128 bytes
_ZIP_MAGIC = b"PK\x03\x04"
_SCALERS = ("x_scaler", "y_scaler")


def _as_path(path: object, where: str) -> Path:
    return Path(check_path(path, where=where))


def _activation_name(act: Activation, layer: int) -> str:
    builtin = ACTIVATIONS.get(act.name)
    if builtin is not None and (act.fn is not builtin.fn or act.backward is not builtin.backward
                                or act.init != builtin.init or act.kinks != builtin.kinks):
        raise UnknownActivationError(expected(
            f"save layer {layer}", "activation",
            f"nnfunc's own {act.name!r} or a custom activation with a name of its own",
            f"a different activation named {act.name!r}",
            "Rename it: a file stores activations by name, so it would load as the built-in."))
    return act.name


def _arrays(model: Model) -> tuple[dict[str, Any], dict[str, FloatArray]]:
    params = model.params
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "sizes": list(params.sizes),
        "activations": [_activation_name(layer.activation, i)
                        for i, layer in enumerate(params.layers)],
        "dtype": str(params.dtype),
        "scaler_dtypes": {name: str(getattr(model, name).mean.dtype) for name in _SCALERS},
        "nnfunc": _version(),
    }
    arrays: dict[str, FloatArray] = {}
    for i, layer in enumerate(params.layers):
        arrays[f"layers.{i}.W"] = layer.W
        arrays[f"layers.{i}.b"] = layer.b
    for name in _SCALERS:
        scaler: Scaler = getattr(model, name)
        arrays[f"{name}.mean"] = scaler.mean
        arrays[f"{name}.std"] = scaler.std
    return header, arrays


def _version() -> str:
    from . import __version__  # the package sets it before anything calls save

    return __version__


def save(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` (one ``.npz`` file, atomically) and return the path.

    ``path`` is used exactly as given (no ``.npz`` is appended); its folder must exist.
    The previous file at ``path``, if any, is replaced only once the new one is
    complete on disk.  See the module docstring for the format and for custom
    activations.
    """
    where = "save"
    if not isinstance(model, Model):
        raise DTypeError(expected(where, "model", "an nnfunc.Model", type(model).__name__,
                                  "Bundle the params with their scalers: nnfunc.Model(params, "
                                  "x_scaler, y_scaler)."))
    target = _as_path(path, where)
    header, arrays = _arrays(model)
    blob = json.dumps(header, sort_keys=True).encode("utf-8")
    members: dict[str, Any] = {_HEADER: np.frombuffer(blob, dtype=np.uint8), **arrays}

    folder = target.parent
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"save: path must be a file name, not a folder; "
                                f"got the folder {str(target)!r}. Add a file name, e.g. "
                                f"{str(target / 'model.npz')!r}", str(target))
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"save: the folder of path must exist; "
                                f"{str(folder)!r} does not (save does not create folders)",
                                str(target))
    tmp = folder / f".{target.name}.{secrets.token_hex(8)}.tmp"
    # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide, as open() does
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    except OSError as err:  # the same OSError subclass, with the target in its message
        raise type(err)(err.errno, f"save: cannot write {str(target)!r} "
                        f"({err.strerror or err})", str(tmp)) from err
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **members)  # float and uint8 arrays only: nothing to pickle
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)
    return target


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Reader:
    """Reads one model file, turning every way it can be wrong into a FileFormatError."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, should: str, got: str, hint: str = "") -> FileFormatError:
        return FileFormatError(expected(f"load {str(self.path)!r}", "the file", should, got, hint))

    def member_bytes(self, zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
        info = zf.getinfo(f"{name}.npy")
        if info.file_size > limit:
            raise self.fail(f"at most {limit} bytes in member {name!r}",
                            f"{info.file_size} bytes", "The file is corrupted or not nnfunc's.")
        try:
            return zf.read(info)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as err:
            raise self.fail(f"an intact member {name!r}", f"a damaged one ({err})",
                            "The file is corrupted (or was cut short).") from None

    def array(self, zf: zipfile.ZipFile, name: str, limit: int) -> np.ndarray[Any, Any]:
        data = self.member_bytes(zf, name, limit)
        buf = io.BytesIO(data)
        try:
            arr = np.lib.format.read_array(buf, allow_pickle=False)
        except ValueError as err:
            if "allow_pickle" in str(err):
                raise self.fail(f"plain numbers in member {name!r}",
                                "a pickled Python object",
                                "nnfunc never unpickles: a pickle can run any code.") from None
            raise self.fail(f"a valid .npy array in member {name!r}", f"an error: {err}") from None
        except (EOFError, OSError) as err:
            raise self.fail(f"a valid .npy array in member {name!r}", f"an error: {err}") from None
        if buf.tell() != len(data):
            raise self.fail(f"exactly one array in member {name!r}",
                            f"{len(data) - buf.tell()} bytes more")
        return arr

    def header(self, zf: zipfile.ZipFile) -> dict[str, Any]:
        names = set(zf.namelist())
        if f"{_HEADER}.npy" not in names:
            listed = ", ".join(sorted(n.removesuffix(".npy") for n in names)[:6]) or "nothing"
            raise self.fail("an nnfunc model (a .npz with an nnfunc header)",
                            f"a .npz without one, holding {listed}",
                            "Save models with nnfunc.save(model, path).")
        raw = self.array(zf, _HEADER, _MAX_HEADER_BYTES)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.fail("a header of UTF-8 bytes (uint8, 1-D)",
                            f"dtype {raw.dtype}, shape {raw.shape}")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise self.fail("a header of UTF-8 JSON", f"unreadable text ({err})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            got = header.get("format") if isinstance(header, dict) else type(header).__name__
            raise self.fail(f"an nnfunc model (header format {FORMAT!r})", f"format {got!r}")
        version = header.get("version")
        if version != FORMAT_VERSION or isinstance(version, bool):
            hint = ("It was written by a newer nnfunc: upgrade nnfunc to read it."
                    if isinstance(version, int) and version > FORMAT_VERSION else "")
            raise self.fail(f"format version {FORMAT_VERSION}", f"version {version!r}", hint)
        return header

    def layout(
        self, header: dict[str, Any]
    ) -> tuple[list[int], list[str], dict[str, np.dtype[Any]]]:
        """``(sizes, activation names, dtype by role)`` from a header, checked."""
        sizes = header.get("sizes")
        if (not isinstance(sizes, list) or len(sizes) < 2
                or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                           for s in sizes)):
            raise self.fail("header sizes: a list of at least 2 positive integers", repr(sizes))
        acts = header.get("activations")
        if (not isinstance(acts, list) or len(acts) != len(sizes) - 1
                or not all(isinstance(a, str) for a in acts)):
            raise self.fail(f"header activations: {len(sizes) - 1} names, one per layer",
                            repr(acts))
        dtypes: dict[str, np.dtype[Any]] = {}
        scaler_dtypes = header.get("scaler_dtypes")
        if not isinstance(scaler_dtypes, dict):
            raise self.fail("header scaler_dtypes: a mapping", repr(scaler_dtypes))
        for role, spec in (("params", header.get("dtype")),
                           *((name, scaler_dtypes.get(name)) for name in _SCALERS)):
            known = {str(d): d for d in FLOAT_DTYPES}
            if not isinstance(spec, str) or spec not in known:
                raise self.fail(f"header dtype of {role}: float32 or float64", repr(spec))
            dtypes[role] = known[spec]
        return sizes, acts, dtypes


def _resolve(names: list[str], extra: Mapping[str, Activation], where: str) -> list[Activation]:
    out = []
    for i, name in enumerate(names):
        if name in ACTIVATIONS:
            out.append(ACTIVATIONS[name])
        elif name in extra:
            out.append(extra[name])
        else:
            known = ", ".join(sorted(ACTIVATIONS))
            raise UnknownActivationError(expected(
                f"{where} layer {i}", "activation", f"one of {known}", repr(name),
                f"It is a custom activation: pass it back, load(path, activations="
                f"{{{name!r}: your_activation}})."))
    return out


def _check_extra(activations: object, where: str) -> Mapping[str, Activation]:
    if activations is None:
        return {}
    if not isinstance(activations, Mapping):
        raise DTypeError(expected(where, "activations", "a mapping {name: nnfunc.Activation}",
                                  type(activations).__name__))
    for key, act in activations.items():
        if not isinstance(act, Activation) or act.name != key:
            raise DTypeError(expected(where, f"activations[{key!r}]",
                                      f"an nnfunc.Activation named {key!r}", repr(act)))
        if key in ACTIVATIONS:
            raise UnknownActivationError(expected(
                where, f"activations[{key!r}]", "a custom activation, not a built-in's name",
                repr(key), "Built-in activations load by themselves."))
    return activations


def load(path: str | os.PathLike[str], *,
         activations: Mapping[str, Activation] | None = None) -> Model:
    """Read a :class:`~nnfunc.Model` written by :func:`save`.

    Parameters
    ----------
    path:
        The file (a str or an ``os.PathLike``).
    activations:
        Custom activations by name, for layers that do not use a built-in one.

    Raises
    ------
    FileFormatError
        The file is not a complete, intact nnfunc model of this format version:
        the message names the path and what was wrong.
    UnknownActivationError
        The file names a custom activation that ``activations`` does not supply.
    OSError
        The file cannot be opened (missing, a folder, no permission).
    """
    where = "load"
    target = _as_path(path, where)
    extra = _check_extra(activations, where)
    reader = _Reader(target)
    with open(target, "rb") as fh:  # OSError (not found, permission) goes to the caller as is
        magic = fh.read(len(_ZIP_MAGIC))
        if magic != _ZIP_MAGIC:
            got = ("an empty file" if not magic else
                   "a Python pickle" if magic[:1] == b"\x80" else
                   "a single .npy array" if magic == b"\x93NUM" else
                   f"a file starting with {magic!r}")
            raise reader.fail("a .npz file (a zip archive) written by nnfunc.save", got)
        fh.seek(0)
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
            raise reader.fail("a complete .npz (zip) file", f"a damaged one ({err})",
                              "The file was cut short or is corrupted.") from None
        with zf:
            header = reader.header(zf)
            sizes, act_names, dtypes = reader.layout(header)
            acts = _resolve(act_names, extra, f"{where} {str(target)!r}")
            shapes: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
            for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
                shapes[f"layers.{i}.W"] = ((n_in, n_out), dtypes["params"])
                shapes[f"layers.{i}.b"] = ((n_out,), dtypes["params"])
            for name, width in (("x_scaler", sizes[0]), ("y_scaler", sizes[-1])):
                shapes[f"{name}.mean"] = ((width,), dtypes[name])
                shapes[f"{name}.std"] = ((width,), dtypes[name])
            present = {n.removesuffix(".npy") for n in zf.namelist()} - {_HEADER}
            missing = sorted(set(shapes) - present)
            if missing:
                raise reader.fail("every array its header lists", f"{', '.join(missing)} missing",
                                  "The file is incomplete.")
            unexpected = sorted(present - set(shapes))
            if unexpected:
                raise reader.fail("only the arrays its header lists",
                                  f"unexpected {', '.join(unexpected)}")
            arrays: dict[str, np.ndarray[Any, Any]] = {}
            for name, (shape, dtype) in shapes.items():
                limit = math.prod(shape) * dtype.itemsize + _NPY_HEADER_SLACK
                arr = reader.array(zf, name, limit)
                if arr.dtype != dtype:
                    raise reader.fail(f"{name} of dtype {dtype}, as the header says",
                                      f"dtype {arr.dtype}")
                if arr.shape != shape:
                    raise reader.fail(f"{name} of shape {shape}, as the header says",
                                      f"shape {arr.shape}")
                arrays[name] = arr
    try:
        layers = tuple(Layer(arrays[f"layers.{i}.W"], arrays[f"layers.{i}.b"], act)
                       for i, act in enumerate(acts))
        scalers = [Scaler(arrays[f"{name}.mean"], arrays[f"{name}.std"]) for name in _SCALERS]
        return Model(Params(layers), scalers[0], scalers[1])
    except NnfuncError as err:
        raise reader.fail("values a model can hold", f"invalid ones ({err})",
                          "The file is corrupted.") from None
