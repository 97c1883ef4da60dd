"""Model files: no pickle, a format version, clear errors for missing/corrupt files, atomic saving.

Every broken model directory must fail with a :class:`ModelError` whose message names the file and
the problem — through ``windowner.load``, ``load_model`` and the CLI (exit code 2). Saving
must never leave a directory that does not load: a process killed at any moment of ``to_disk``
leaves either the previous or the new model (checked at every I/O call, and at random moments).
"""

from __future__ import annotations

import ast
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import windowner
from windowner.cli import main
from windowner.errors import ModelError, WindownerError
from windowner.model.files import FORMAT_VERSION, load_model, save_model
from windowner.model.inference import NERModel
from windowner.tagger import Tagger

PACKAGE = Path(windowner.__file__).parent
MODEL_FILES = ("config.json", "weights.npz", "vocab.txt", "suffixes.txt")


@pytest.fixture
def model_copy(tmp_path, tiny_model_dir) -> Path:
    d = tmp_path / "model"
    shutil.copytree(tiny_model_dir, d)
    return d


def _edit_config(d: Path, **changes) -> None:
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (d / "config.json").write_text(json.dumps(config), encoding="utf-8")


def _rewrite_npz(path: Path, **arrays) -> None:
    with np.load(path, allow_pickle=False) as data:
        content = {name: data[name] for name in data.files}
    content.update(arrays)
    np.savez(path, **content)


def _fails_everywhere(d: Path, file: str, fragment: str, capsys) -> None:
    """The same broken directory through the three ways of loading a model."""
    where = str(d / file) if file else str(d)
    for load in (load_model, windowner.load):
        with pytest.raises(ModelError) as exc:
            load(d)
        assert str(exc.value).startswith(where) and fragment in str(exc.value), str(exc.value)
    text = d.parent / "in.txt"
    text.write_text("Kofi Mensah visited Paris.\n", encoding="utf-8")
    conll = d.parent / "in.conll"
    conll.write_text("Paris B-LOC\n", encoding="utf-8")
    commands = [["evaluate", str(d), str(conll)], ["tag", "--model", str(d), str(text)]]
    if d.is_dir():  # a directory given first is the model, even a broken one (never an input file)
        commands.append(["tag", str(d), str(text)])
    for argv in commands:
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"error: {where}" in err and fragment in err, err


# --------------------------------------------------------------------------- no pickle


def test_no_pickle_in_windowner_sources():
    """No pickle-based module is imported, and no numpy load/save enables pickles."""
    banned = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                names = []
            assert not banned & set(names), f"{f}:{node.lineno} imports {names}"
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, f"{f}: allow_pickle"
            if isinstance(node, ast.Attribute) and node.attr in ("read_pickle", "to_pickle"):
                raise AssertionError(f"{f}:{node.lineno} uses {node.attr}")


def test_model_directory_holds_only_json_text_and_plain_arrays(tiny_model_dir):
    names = sorted(p.name for p in tiny_model_dir.iterdir())
    assert (
        set(MODEL_FILES)
        <= set(names)
        <= set(MODEL_FILES)
        | {"history.json", "tokenizer.json", "pretrained.npy", "pretrained.txt", "calibration.json", "run.json"}
    )
    with np.load(tiny_model_dir / "weights.npz", allow_pickle=False) as data:
        for name in data.files:
            assert data[name].dtype != object
    config = json.loads((tiny_model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["format_version"] == FORMAT_VERSION and isinstance(FORMAT_VERSION, int)
    assert config["windowner_version"] == windowner.__version__


class _Payload:
    """Unpickling this would create the marker file: the test fails if anything unpickles it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_weights_with_a_pickled_object_array_are_refused_unexecuted(model_copy, tmp_path, capsys):
    marker = tmp_path / "pwned"
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    with np.load(model_copy / "weights.npz", allow_pickle=False) as data:
        content = {name: data[name] for name in data.files}
    content["W"] = payload
    np.savez(model_copy / "weights.npz", **content)  # np.savez pickles object arrays
    _fails_everywhere(model_copy, "weights.npz", "cannot be read", capsys)
    assert not marker.exists()


# --------------------------------------------------------------------------- broken directories


def test_newer_format_version_is_refused(model_copy, capsys):
    _edit_config(model_copy, format_version=FORMAT_VERSION + 1)
    _fails_everywhere(model_copy, "config.json", f"format version {FORMAT_VERSION + 1} is not supported", capsys)
    with pytest.raises(ModelError, match="upgrade windowner"):
        load_model(model_copy)


@pytest.mark.parametrize("name", MODEL_FILES)
def test_missing_file(model_copy, name, capsys):
    (model_copy / name).unlink()
    _fails_everywhere(model_copy, name, "missing", capsys)


def test_missing_history_is_fine(model_copy):
    (model_copy / "history.json").unlink()
    assert load_model(model_copy).history == []


@pytest.mark.parametrize("keep", [0, 100, 0.5, -1])
def test_truncated_weights(model_copy, keep, capsys):
    data = (model_copy / "weights.npz").read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    (model_copy / "weights.npz").write_bytes(data[:n])
    _fails_everywhere(model_copy, "weights.npz", "truncated or corrupt", capsys)


def test_flipped_byte_in_weights_fails_its_checksum(model_copy, capsys):
    data = bytearray((model_copy / "weights.npz").read_bytes())
    with zipfile.ZipFile(model_copy / "weights.npz") as zf:
        info = zf.getinfo("W.npy")
    data[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0xFF  # inside W's data
    (model_copy / "weights.npz").write_bytes(bytes(data))
    _fails_everywhere(model_copy, "weights.npz", "CRC", capsys)


@pytest.mark.parametrize("how", ["extra_vocab_line", "hidden_in_config", "transposed_W", "missing_array"])
def test_mismatched_files(model_copy, how, capsys):
    if how == "extra_vocab_line":
        with open(model_copy / "vocab.txt", "a", encoding="utf-8") as f:
            f.write("zanzibar\n")
        fragment = "array E has shape"
    elif how == "hidden_in_config":
        _edit_config(model_copy, hidden=7)
        fragment = "array W has shape"
    elif how == "transposed_W":
        with np.load(model_copy / "weights.npz") as data:
            W = data["W"]
        _rewrite_npz(model_copy / "weights.npz", W=W.T.copy())
        fragment = "array W has shape"
    else:
        with np.load(model_copy / "weights.npz") as data:
            content = {n: data[n] for n in data.files if n != "trans"}
        np.savez(model_copy / "weights.npz", **content)
        fragment = "trans are missing"
    _fails_everywhere(model_copy, "weights.npz", fragment, capsys)


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (b"\xff\xfe{}", "not valid UTF-8"),
    ],
)
def test_corrupt_config(model_copy, content, fragment, capsys):
    path = model_copy / "config.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _fails_everywhere(model_copy, "config.json", fragment, capsys)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"window": None}, "'window' is missing"),
        ({"hidden": "300"}, "'hidden' is missing or not a valid int"),
        ({"tags": ["O", "PER"]}, "'tags' must be"),
        ({"activation": "swish"}, "unknown activation 'swish'"),
        ({"head": "crf"}, "unknown head 'crf'"),
    ],
)
def test_invalid_config_values(model_copy, changes, fragment, capsys):
    _edit_config(model_copy, **changes)
    _fails_everywhere(model_copy, "config.json", fragment, capsys)


def test_model_without_calibration_loads_uncalibrated_and_says_so(model_copy, tiny_model_dir, tmp_path):
    """A directory from before calibration (no calibration.json, no calibration keys) loads with raw scores."""
    calibrated = load_model(tiny_model_dir)
    assert calibrated.calibration is not None and calibrated.run.calibrated is True
    (model_copy / "calibration.json").unlink()
    (model_copy / "run.json").unlink()
    _edit_config(model_copy, calibrated=None, calibration=None, calibration_split=None)
    old = load_model(model_copy)
    assert old.calibration is None and old.run.calibrated is False
    assert "not calibrated" in old.run.calibration_note
    sents = [["Kofi", "Mensah", "visited", "Paris", "on", "Monday", "."], ["Anna", "left", "Lima", "."]]
    assert old.predict(sents) == calibrated.predict(sents)
    raw, cal = old.predict_scored(sents), calibrated.predict_scored(sents)
    assert [[e[:3] for e in s] for s in raw.ents] == [[e[:3] for e in s] for s in cal.ents]
    np.testing.assert_allclose(
        [e[3] for s in cal.ents for e in s], calibrated.calibration.entity([e[3] for s in raw.ents for e in s])
    )
    again = save_model(old, tmp_path / "again")
    run = json.loads((again / "run.json").read_text(encoding="utf-8"))
    assert run["calibrated"] is False and "not calibrated" in run["calibration_note"]
    assert not (again / "calibration.json").exists()
    run = json.loads((save_model(calibrated, tmp_path / "cal") / "run.json").read_text())
    assert run["calibrated"] is True and run["calibration_note"] is None


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{", "not valid JSON"),
        (
            '{"entity": {"method": "isotonic", "x": [0.5, 0.1], "y": [0, 1]}, "token": {"method": "identity"}}',
            "'entity' map: 'x' must be finite and increasing",
        ),
        ('{"entity": {"method": "identity"}}', "'token' map is missing"),
    ],
)
def test_corrupt_calibration(model_copy, content, fragment, capsys):
    (model_copy / "calibration.json").write_text(content, encoding="utf-8")
    _fails_everywhere(model_copy, "calibration.json", fragment, capsys)


def test_non_utf8_vocabulary(model_copy, capsys):
    with open(model_copy / "vocab.txt", "ab") as f:
        f.write("Z\u00fcrich\n".encode("latin-1"))
    _fails_everywhere(model_copy, "vocab.txt", "not valid UTF-8", capsys)


@pytest.fixture(scope="module")
def vectors_model_dir(tmp_path_factory, tiny_corpus) -> Path:
    """A model trained with a vectors file, so that it carries pretrained.npy and pretrained.txt. Read-only!"""
    from windowner.model.config import TrainConfig
    from windowner.model.training import fit

    d = tmp_path_factory.mktemp("vectors_model")
    rng = np.random.default_rng(0)
    words = sorted({w for t, _ in tiny_corpus["train"] for w in t})
    (d / "vec.txt").write_text(
        "".join(w + " " + " ".join(f"{x:.3f}" for x in rng.normal(size=10)) + "\n" for w in words), encoding="utf-8"
    )
    model = fit(
        tiny_corpus["train"][:100],
        None,
        TrainConfig(vectors=f"glove:{d / 'vec.txt'}", hidden=8, epochs=1),
        progress=False,
        log=None,
    )
    return save_model(model, d / "model")


@pytest.mark.parametrize(
    "damage, file, fragment",
    [
        ("truncate", "pretrained.npy", "truncated or corrupt"),
        ("empty", "pretrained.npy", "truncated or corrupt"),
        ("delete", "pretrained.npy", "missing"),
        ("delete", "pretrained.txt", "missing"),
        ("extra_line", "pretrained.txt", "words for"),
    ],
)
def test_broken_pretrained_vectors(tmp_path, vectors_model_dir, damage, file, fragment, capsys):
    d = tmp_path / "model"
    shutil.copytree(vectors_model_dir, d)
    assert load_model(d).lexicon.pretrained is not None
    path = d / file
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "delete":
        path.unlink()
    else:
        with open(path, "a", encoding="utf-8") as f:
            f.write("zanzibar\n")
    _fails_everywhere(d, file, fragment, capsys)


def test_missing_model_directory(tmp_path, capsys):
    _fails_everywhere(tmp_path / "nothing", "", "no such model directory", capsys)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(
        MODEL_FILES
        + ("history.json", "tokenizer.json", "pretrained.npy", "pretrained.txt", "calibration.json", "run.json")
    ),
    where=st.floats(0, 1),
    cut=st.booleans(),
    byte=st.integers(0, 255),
)
def test_fuzz_any_damage_loads_or_raises_a_windowner_error(
    tmp_path_factory, tiny_model_dir, vectors_model_dir, name, where, cut, byte
):
    """One damaged byte, or a truncation, anywhere in any model file: loads or raises WindownerError."""
    d = tmp_path_factory.mktemp("fuzz") / "model"
    shutil.copytree(vectors_model_dir if name.startswith("pretrained") else tiny_model_dir, d)
    data = bytearray((d / name).read_bytes())
    i = min(int(where * len(data)), len(data) - 1)
    if cut:
        del data[i:]
    else:
        data[i] = byte
    (d / name).write_bytes(bytes(data))
    try:
        model = load_model(d)
    except WindownerError as exc:
        assert str(d) in str(exc)
        return
    model.predict([["Kofi", "visited", "Paris", "."]])
    Tagger(model)("Kofi Jong-un visited Paris on Jan. 5.")  # the tokenizer file is usable too


# --------------------------------------------------------------------------- saving


def test_small_training_file_gives_a_loadable_model(tmp_path, capsys):
    """Too few tokens for any frequent suffix: an empty suffixes.txt must still load."""
    data = tmp_path / "small.conll"
    data.write_text("Kofi B-PER\nvisited O\nParis B-LOC\n", encoding="utf-8")
    assert main(["train", "--train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1", "--quiet"]) == 0
    assert load_model(tmp_path / "m").lexicon.suffixes == []


def test_tokens_with_line_breaks_do_not_shift_the_vocabulary(tmp_path):
    tagger = windowner.train(
        [(["a\rb", "New\nYork", "x", "visited", "Paris"], ["O", "B-LOC", "O", "O", "B-LOC"])] * 3,
        min_count=1,
        epochs=1,
        hidden=4,
    )
    tagger.to_disk(tmp_path / "m")
    loaded = windowner.load(tmp_path / "m").model
    assert len(loaded.lexicon.words) == len(tagger.model.lexicon.words)
    assert loaded.lexicon.words[-3:] == tagger.model.lexicon.words[-3:]  # "paris", "visited", "x" keep their rows
    np.testing.assert_array_equal(loaded.embeddings.tables["E"], tagger.model.embeddings.tables["E"])


def test_save_round_trip_is_exact(model_copy, tmp_path):
    model = load_model(model_copy)
    save_model(model, tmp_path / "again")
    again = load_model(tmp_path / "again")
    for name, arr in model.weights().items():
        np.testing.assert_array_equal(again.weights()[name], arr)
    assert again.lexicon.words == model.lexicon.words and again.tags == model.tags
    assert (tmp_path / "again" / "weights.npz").read_bytes() == (model_copy / "weights.npz").read_bytes()


@pytest.mark.parametrize("kind", ["file", "non_model_dir"])
def test_save_refuses_to_replace_something_that_is_not_a_model(tmp_path, tiny_model_dir, kind, capsys):
    model = load_model(tiny_model_dir)
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("precious", encoding="utf-8")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(ModelError, match="is not a model directory; refusing to replace it"):
        save_model(model, target)
    data = tmp_path / "small.conll"
    data.write_text("Kofi B-PER\nvisited O\nParis B-LOC\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["train", "--train", str(data), "--out", str(target), "--epochs", "1", "--quiet"]) == 2
    assert "refusing to replace it" in capsys.readouterr().err
    precious = target if kind == "file" else target / "notes.txt"
    assert precious.read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.conll", "target"]  # no temporary leftovers


def test_save_into_an_empty_directory_and_over_a_model(tmp_path, tiny_model_dir):
    model = load_model(tiny_model_dir)
    (tmp_path / "empty").mkdir()
    save_model(model, tmp_path / "empty")
    save_model(model, tmp_path / "empty")
    assert load_model(tmp_path / "empty").tags == model.tags


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_model_is_as_readable_as_any_new_directory(tmp_path, tiny_model_dir):
    save_model(load_model(tiny_model_dir), tmp_path / "model")
    (tmp_path / "plain").mkdir()
    assert (tmp_path / "model").stat().st_mode == (tmp_path / "plain").stat().st_mode  # the umask, not 0700


def test_unwritable_location_is_a_model_error(tmp_path, tiny_model_dir):
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot write the model here"):
        save_model(load_model(tiny_model_dir), tmp_path / "a_file" / "model")


def test_failed_save_leaves_previous_model_and_no_temporary_directory(model_copy, monkeypatch):
    import windowner.model.files as ner

    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    model = load_model(model_copy)
    model.net.params["b"][:] += 1

    def disk_full(path, arrays):
        path.write_bytes(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ner, "save_arrays", disk_full)
    with pytest.raises(ModelError, match=r"No space left on device.*previous contents are unchanged"):
        save_model(model, model_copy)
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before
    assert sorted(p.name for p in model_copy.parent.iterdir()) == ["model"]


def test_without_atomic_exchange_an_interrupted_save_says_where_the_old_model_is(model_copy, monkeypatch):
    """The fallback (no renameat2: not Linux) moves the old model aside, then the new one in."""
    import windowner.model.files as ner

    monkeypatch.setattr(ner, "_exchange", lambda a, b: False)
    real_replace, calls = os.replace, []

    def crash_on_second_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise KeyboardInterrupt  # stands in for a kill between the two renames
        real_replace(src, dst)

    monkeypatch.setattr(ner.os, "replace", crash_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        save_model(load_model(model_copy), model_copy)
    monkeypatch.setattr(ner.os, "replace", real_replace)
    with pytest.raises(ModelError, match=r"interrupted save left the previous model in .*\.model\.old-\d+; rename"):
        load_model(model_copy)
    backup = calls[0][1]
    os.replace(backup, model_copy)
    load_model(model_copy)


def _version(model: NERModel, v: int) -> NERModel:
    """Mark every file of a save with v: config.json, weights.npz (b[0]), history.json."""
    model.config["test_version"] = v
    model.net.params["b"][0] = v
    model.history = [{"epoch": v}]
    return model


def _check_version(d: Path, allowed: set[int]) -> int:
    model = load_model(d)  # raises if the directory is missing or inconsistent
    v = model.config["test_version"]
    assert v in allowed and model.net.params["b"][0] == v and model.history == [{"epoch": v}], v
    return v


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_killed_at_every_io_call_of_a_save_leaves_old_or_new_model(tmp_path, tiny_model_dir):
    """Fork a child per kill point; the child SIGKILLs itself just before its n-th file-changing call in to_disk."""
    model = load_model(tiny_model_dir)
    target = tmp_path / "model"
    save_model(_version(model, 1), target)

    mutating = (
        "open",
        "write",
        "flush",
        "close",
        "__exit__",
        "fsync",
        "mkdir",
        "replace",
        "rename",
        "rmdir",
        "unlink",
        "remove",
    )

    def kill_before_call(n: int):
        count = [0]

        def profile(frame, event, arg):
            if event == "c_call" and any(m in getattr(arg, "__qualname__", "") for m in mutating):
                module = getattr(arg, "__module__", None) or type(getattr(arg, "__self__", None)).__module__
                if module in ("posix", "nt", "io", "_io"):
                    count[0] += 1
                    if count[0] == n:
                        os.kill(os.getpid(), signal.SIGKILL)

        return profile

    seen, n = [], 0
    while True:
        n += 1
        pid = os.fork()
        if pid == 0:  # child: never returns into pytest
            try:
                sys.setprofile(kill_before_call(n))
                save_model(_version(model, 2), target)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        seen.append(_check_version(target, {1, 2}))
        strays = [p for p in tmp_path.iterdir() if p != target]
        assert all(p.name.startswith(".model.") for p in strays), strays  # nothing else is touched
        for p in strays:
            shutil.rmtree(p)
        if not os.WIFSIGNALED(status):  # the save completed: every I/O call has been a kill point
            break
        if seen[-1] == 2:
            save_model(_version(model, 1), target)
    assert n > 20 and seen[0] == 1 and seen[-1] == 2


_SAVE_LOOP = textwrap.dedent("""
    import sys
    from windowner.model.files import load_model, save_model
    model = load_model(sys.argv[1])
    v = int(sys.argv[3])
    while True:
        model.config["test_version"] = v
        model.net.params["b"][0] = v
        model.history = [{"epoch": v}]
        save_model(model, sys.argv[2])
        print(v, flush=True)
        v += 1
""")


def test_random_sigkill_during_repeated_saves(tmp_path, tiny_model_dir):
    target = tmp_path / "model"
    rng = random.Random(0)
    last = 0
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVE_LOOP, str(tiny_model_dir), str(target), str(last + 1)],
            stdout=subprocess.PIPE,
            text=True,
        )
        proc.stdout.readline()  # one complete save, then kill at a random moment of the following ones
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        done = [int(line) for line in proc.stdout.read().split()]
        proc.wait(timeout=60)
        finished = done[-1] if done else last + 1
        v = _check_version(target, {finished, finished + 1})  # the last complete save, or one just completed
        last = v
    strays = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".model.") for name in strays), strays
