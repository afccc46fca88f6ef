"""save / load: bit-exact round trips, atomic saving, and every kind of bad file refused."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnfunc as nf
import nnfunc.io as nio
from tests.helpers import networks

DTYPES = (np.float32, np.float64)


def _model(params: nf.Params, rng: np.random.Generator, scaler_dtype: Any = np.float64
           ) -> nf.Model:
    n_in, n_out = params.sizes[0], params.sizes[-1]

    def scaler(width: int) -> nf.Scaler:
        mean = rng.normal(size=width).astype(scaler_dtype)
        std = rng.uniform(0.5, 3.0, size=width).astype(scaler_dtype)
        return nf.Scaler(mean, std)

    return nf.Model(params, scaler(n_in), scaler(n_out))


def _small(dtype: Any = np.float64, acts: tuple[str, ...] = ("relu", "tanh", "linear")
           ) -> nf.Model:
    rng = np.random.default_rng(1)
    return _model(nf.init([2, 4, 3, 3], list(acts), rng, dtype=dtype, bias=0.1), rng)


def _arrays(model: nf.Model) -> list[np.ndarray]:
    out = [a for layer in model.params.layers for a in (layer.W, layer.b)]
    return [*out, model.x_scaler.mean, model.x_scaler.std, model.y_scaler.mean,
            model.y_scaler.std]


def _bit_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@given(net=networks(dtype=np.float64), dtype=st.sampled_from(DTYPES),
       scaler_dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_round_trip_is_bit_exact_for_random_architectures_and_dtypes(
    net: tuple[nf.Params, np.ndarray, np.ndarray], dtype: Any, scaler_dtype: Any, seed: int
) -> None:
    base, X, _ = net
    rng = np.random.default_rng(seed)
    # random weights at full precision (not just what init draws), in the dtype under test
    params = nf.Params(tuple(
        nf.Layer((rng.normal(size=layer.W.shape) * 10.0 ** rng.integers(-3, 4)).astype(dtype),
                 rng.normal(size=layer.b.shape).astype(dtype), layer.activation)
        for layer in base.layers))
    model = _model(params, rng, scaler_dtype)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        assert nf.save(model, path) == path
        back = nf.load(path)
    assert back == model
    assert back.params.activations == model.params.activations
    assert all(_bit_equal(a, b) for a, b in zip(_arrays(back), _arrays(model), strict=True))
    with np.errstate(under="ignore"):  # saturated float32 sigmoids give subnormal outputs
        assert _bit_equal(nf.predict(back, X), nf.predict(model, X))


def test_str_and_pathlike_paths_and_no_suffix_added(tmp_path: Path) -> None:
    model = _small(np.float32)
    nf.save(model, str(tmp_path / "a.npz"))
    nf.save(model, tmp_path / "b.model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.model"]
    assert nf.load(str(tmp_path / "a.npz")) == model
    assert nf.load(tmp_path / "b.model") == model


def test_loaded_arrays_are_read_only_and_predict_in_raw_units(tmp_path: Path) -> None:
    model = _small()
    nf.save(model, tmp_path / "m.npz")
    back = nf.load(tmp_path / "m.npz")
    assert not back.params.layers[0].W.flags.writeable
    X = np.array([[30.0, 70.0], [1.0, 2.0]])
    assert np.array_equal(nf.predict(back, X), nf.predict(model, X))


def test_the_file_is_plain_npz_with_a_json_header(tmp_path: Path) -> None:
    nf.save(_small(np.float32), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        header = json.loads(z["header"].tobytes())
        assert z["layers.0.W"].dtype == np.float32
    assert header["format"] == "nnfunc.model" and header["version"] == nio.FORMAT_VERSION
    assert header["sizes"] == [2, 4, 3, 3]
    assert header["activations"] == ["relu", "tanh", "linear"]
    assert header["dtype"] == "float32"
    assert header["scaler_dtypes"] == {"x_scaler": "float64", "y_scaler": "float64"}


# --- atomic saving -------------------------------------------------------------------------

def test_a_failure_between_write_and_rename_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.npz"
    old, new = _small(np.float64), _small(np.float32)
    nf.save(old, path)
    before = path.read_bytes()

    def crash(src: Any, dst: Any) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match=r"simulated crash"):
        nf.save(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert nf.load(path) == old
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # the temporary file is gone


def test_a_failure_while_writing_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.npz"
    old = _small()
    nf.save(old, path)

    def crash(fd: int) -> None:
        raise OSError("simulated disk failure")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match=r"simulated disk failure"):
        nf.save(_small(np.float32), path)
    monkeypatch.undo()
    assert nf.load(path) == old
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_save_into_a_missing_folder_fails_without_leaving_anything(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        nf.save(_small(), tmp_path / "nope" / "m.npz")
    assert list(tmp_path.iterdir()) == []


# --- bad files -----------------------------------------------------------------------------

def _good_bytes(tmp_path: Path) -> tuple[nf.Model, bytes]:
    model = _small()
    nf.save(model, tmp_path / "good.npz")
    return model, (tmp_path / "good.npz").read_bytes()


def _write_npz(path: Path, header: dict[str, Any] | None, **arrays: Any) -> Path:
    members = dict(arrays)
    if header is not None:
        members["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **members)
    return path


def _members(model: nf.Model) -> tuple[dict[str, Any], dict[str, Any]]:
    header, arrays = nio._arrays(model)
    return header, dict(arrays)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    _, raw = _good_bytes(tmp_path)
    for cut in (len(raw) // 2, len(raw) - 10, 10):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(raw[:cut])
        with pytest.raises(nf.FileFormatError, match=rf"load '.*cut{cut}\.npz'.*cut short"):
            nf.load(bad)


def test_corrupted_data_is_refused_by_its_checksum(tmp_path: Path) -> None:
    model, raw = _good_bytes(tmp_path)
    at = raw.find(model.params.layers[1].W.tobytes())
    assert at > 0
    flipped = bytearray(raw)
    flipped[at + 3] ^= 0x10
    bad = tmp_path / "flip.npz"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(nf.FileFormatError, match=r"layers\.1\.W.*(CRC|corrupted)"):
        nf.load(bad)


@pytest.mark.parametrize("content, what", [
    (b"", "an empty file"),
    (b"hello, world\n", "a file starting with"),
    (pickle.dumps({"W": [1.0, 2.0]}), "a Python pickle"),
])
def test_a_file_that_is_not_npz_is_refused(tmp_path: Path, content: bytes, what: str) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    with pytest.raises(nf.FileFormatError, match=f"must be a .npz file.*got {what}"):
        nf.load(bad)


def test_a_single_npy_array_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(nf.FileFormatError, match=r"got a single \.npy array"):
        nf.load(tmp_path / "a.npy")


def test_a_foreign_npz_is_refused(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "foreign.npz", None, weights=np.zeros((2, 2)))
    with pytest.raises(nf.FileFormatError, match=r"must be an nnfunc model.*holding weights"):
        nf.load(path)


def test_a_foreign_header_is_refused(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "f.npz", {"format": "keras"}, x=np.zeros(1))
    with pytest.raises(nf.FileFormatError,
                       match=r"header format 'nnfunc\.model'.*got format 'keras'"):
        nf.load(path)


def test_a_pickled_object_inside_is_refused_without_unpickling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header, arrays = _members(_small())
    arrays["layers.0.W"] = np.array([{"evil": 1}], dtype=object)
    path = _write_npz(tmp_path / "pickled.npz", header, **arrays)

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("load unpickled something")

    monkeypatch.setattr(pickle, "loads", never)
    monkeypatch.setattr(pickle, "load", never)
    with pytest.raises(nf.FileFormatError, match=r"layers\.0\.W.*got a pickled Python object"):
        nf.load(path)


@pytest.mark.parametrize("version, hint", [(2, "upgrade nnfunc"), (0, ""), ("1", "")])
def test_another_format_version_is_refused(tmp_path: Path, version: object, hint: str) -> None:
    header, arrays = _members(_small())
    header["version"] = version
    path = _write_npz(tmp_path / "v.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError,
                       match=f"format version 1; got version {version!r}.*{hint}"):
        nf.load(path)


def test_a_header_that_is_not_json_is_refused(tmp_path: Path) -> None:
    _, arrays = _members(_small())
    np.savez(tmp_path / "h.npz", header=np.frombuffer(b"\xff{not json", dtype=np.uint8), **arrays)
    with pytest.raises(nf.FileFormatError, match=r"UTF-8 JSON"):
        nf.load(tmp_path / "h.npz")


@pytest.mark.parametrize("field, value, message", [
    ("sizes", [2], "header sizes"),
    ("sizes", [2, 0, 3], "header sizes"),
    ("activations", ["relu"], "header activations: 3 names"),
    ("dtype", "float16", "header dtype of params"),
    ("scaler_dtypes", {"x_scaler": "int64", "y_scaler": "float64"}, "dtype of x_scaler"),
])
def test_a_bad_header_field_is_refused(tmp_path: Path, field: str, value: object, message: str
                                       ) -> None:
    header, arrays = _members(_small())
    header[field] = value
    path = _write_npz(tmp_path / "h.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError, match=message):
        nf.load(path)


def test_an_array_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    header, arrays = _members(_small())
    arrays["layers.1.W"] = np.zeros((4, 2))
    path = _write_npz(tmp_path / "s.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError, match=r"layers\.1\.W of shape \(4, 3\).*shape \(4, 2\)"):
        nf.load(path)


def test_an_array_of_the_wrong_dtype_is_refused(tmp_path: Path) -> None:
    header, arrays = _members(_small())
    arrays["y_scaler.std"] = arrays["y_scaler.std"].astype(np.float32)
    path = _write_npz(tmp_path / "d.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError, match=r"y_scaler\.std of dtype float64.*float32"):
        nf.load(path)


def test_a_missing_and_an_extra_array_are_refused(tmp_path: Path) -> None:
    header, arrays = _members(_small())
    del arrays["layers.2.b"]
    path = _write_npz(tmp_path / "m.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError, match=r"layers\.2\.b missing"):
        nf.load(path)
    header, arrays = _members(_small())
    path = _write_npz(tmp_path / "x.npz", header, extra=np.zeros(2), **arrays)
    with pytest.raises(nf.FileFormatError, match=r"unexpected extra"):
        nf.load(path)


def test_values_no_model_can_hold_are_refused(tmp_path: Path) -> None:
    header, arrays = _members(_small())
    W = arrays["layers.0.W"].copy()
    W[0, 0] = np.nan
    arrays["layers.0.W"] = W
    path = _write_npz(tmp_path / "nan.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError, match=r"invalid ones.*finite"):
        nf.load(path)
    header, arrays = _members(_small())
    arrays["x_scaler.std"] = np.zeros(2)
    path = _write_npz(tmp_path / "std.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError, match=r"invalid ones.*std must be > 0"):
        nf.load(path)


def test_an_oversized_member_is_refused_before_it_is_read(tmp_path: Path) -> None:
    header, arrays = _members(_small())
    arrays["layers.0.b"] = np.zeros(100_000)
    path = _write_npz(tmp_path / "big.npz", header, **arrays)
    with pytest.raises(nf.FileFormatError, match=r"at most \d+ bytes in member 'layers\.0\.b'"):
        nf.load(path)


def test_a_zip_that_is_not_npz_inside_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("header.npy", b"not an npy file at all")
    with pytest.raises(nf.FileFormatError, match=r"valid \.npy array in member 'header'"):
        nf.load(path)


def test_missing_file_and_bad_path_types(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        nf.load(tmp_path / "absent.npz")
    with pytest.raises(nf.DTypeError, match=r"load: path must be a str or os\.PathLike"):
        nf.load(42)  # type: ignore[arg-type]
    with pytest.raises(nf.DTypeError, match=r"save: path must be a str or os\.PathLike"):
        nf.save(_small(), b"m.npz")  # type: ignore[arg-type]
    with pytest.raises(nf.DTypeError, match=r"save: model must be an nnfunc\.Model"):
        nf.save(_small().params, tmp_path / "p.npz")  # type: ignore[arg-type]


# --- custom activations --------------------------------------------------------------------

def _swish(z: np.ndarray) -> np.ndarray:
    return np.asarray(z / (1 + np.exp(-z)))


def _swish_backward(g: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    s = 1 / (1 + np.exp(-z))
    return np.asarray(g * (s + z * s * (1 - s)))


SWISH = nf.Activation("swish", _swish, _swish_backward)


def test_a_custom_activation_saves_by_name_and_loads_when_given_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    model = _model(nf.init([2, 5, 1], [SWISH, "linear"], rng), rng)
    path = tmp_path / "swish.npz"
    nf.save(model, path)
    with pytest.raises(nf.UnknownActivationError,
                       match=r"layer 0: activation must be one of .*got 'swish'.*"
                             r"activations=\{'swish': your_activation\}"):
        nf.load(path)
    back = nf.load(path, activations={"swish": SWISH})
    assert back == model and back.params.layers[0].activation is SWISH
    X = np.array([[0.5, -1.0]])
    assert np.array_equal(nf.predict(back, X), nf.predict(model, X))


def test_an_impostor_of_a_builtin_name_is_refused_on_save(tmp_path: Path) -> None:
    fake = nf.Activation("relu", _swish, _swish_backward, init="he", kinks=(0.0,))
    rng = np.random.default_rng(4)
    model = _model(nf.init([2, 3, 1], [fake, "linear"], rng), rng)
    with pytest.raises(nf.UnknownActivationError, match=r"save layer 0: .*a different activation "
                                                        "named 'relu'.*Rename it"):
        nf.save(model, tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_bad_activations_mappings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    nf.save(_small(), path)
    with pytest.raises(nf.DTypeError, match=r"activations\['swish'\] must be an nnfunc.Activation "
                                            "named 'swish'"):
        nf.load(path, activations={"swish": nf.tanh})
    with pytest.raises(nf.UnknownActivationError, match=r"not a built-in's name"):
        nf.load(path, activations={"relu": nf.relu})
    with pytest.raises(nf.DTypeError, match=r"activations must be a mapping"):
        nf.load(path, activations=[SWISH])  # type: ignore[arg-type]


def test_the_demo_saves_and_reloads_its_model(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from nnfunc.__main__ import main

    assert main(["--epochs", "1", "--hidden", "16", "16", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "model.npz"
    assert f"saved to {path}" in out
    assert "reloaded predictions equal bit for bit: True" in out
    assert nf.load(path).params.sizes == (2, 16, 16, 3)
