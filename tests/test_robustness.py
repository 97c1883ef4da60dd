"""Robustness: malformed CoNLL through every CLI command, faults during training, streaming, determinism.

Each malformed input is either read as the clean file it obviously means (CRLF, BOM, no final
newline, ...) or rejected by ``windowner train``, ``evaluate`` and ``tag --input-format conll``
with exit code 2 and ``path:line: message`` (no traceback: the CLI runs in-process here, so any
other exception fails the test; ``test_real_entry_point_*`` checks the installed command too).

Property-based tests that live elsewhere (not repeated here): the CoNLL writer/reader round trip,
``tests/test_conll.py::test_property_write_read_round_trip``; the tokenizer-offset invariant of the
Python API, ``tests/test_api.py``. This file adds a fuzz test of the reader on arbitrary bytes.
Model-file faults (missing/corrupt files, killed saves) are in ``tests/test_model_files.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from windowner.cli import main
from windowner.errors import DataError
from windowner.model.files import load_model

GOOD = "Kofi B-PER\nMensah I-PER\nvisited O\nParis B-LOC\n. O\n\nNobody O\nexpected O\nthe O\nrain O\n. O\n"
TOKENS = [["Kofi", "Mensah", "visited", "Paris", "."], ["Nobody", "expected", "the", "rain", "."]]
BAD_LINE = len(GOOD.splitlines()) + 2  # a line appended after one more blank line


def _lines(text: str, fn) -> str:
    return "".join(fn(line) + "\n" for line in text.splitlines())


# name -> (file bytes, expected tokens): read exactly like GOOD (or as the tokens given)
READ_OK = {
    "crlf": (GOOD.replace("\n", "\r\n").encode(), TOKENS),
    "bom": (b"\xef\xbb\xbf" + GOOD.encode(), TOKENS),
    "no_final_newline": (GOOD.rstrip("\n").encode(), TOKENS),
    "bom_crlf_no_final_newline": (b"\xef\xbb\xbf" + GOOD.rstrip("\n").replace("\n", "\r\n").encode(), TOKENS),
    "lone_cr_line_ends": (GOOD.replace("\n", "\r").encode(), TOKENS),
    "trailing_whitespace": (_lines(GOOD, lambda s: s + " \t ").encode(), TOKENS),
    "leading_whitespace": (_lines(GOOD, lambda s: "  " + s if s else s).encode(), TOKENS),
    "tabs_and_space_runs": (_lines(GOOD, lambda s: s.replace(" ", " \t  ")).encode(), TOKENS),
    "blank_line_runs_and_whitespace_lines": (
        ("\n \t\n" + GOOD.replace("\n\n", "\n\n  \n\t\n\n") + "\n\n\n").encode(),
        TOKENS,
    ),
    "comments_and_docstart": (
        ("# produced by hand\n-DOCSTART- O\n\n" + GOOD.replace("\n\n", "\n\n# next\n")).encode(),
        TOKENS,
    ),
    "stray_i_tag_repaired": (GOOD.replace("Paris B-LOC", "Paris I-LOC").encode(), TOKENS),
    "bioes_scheme": (
        GOOD.replace("Mensah I-PER", "Mensah E-PER").replace("Paris B-LOC", "Paris S-LOC").encode(),
        TOKENS,
    ),
    "iob1_scheme": (GOOD.replace("B-", "I-").encode(), TOKENS),
    "mixed_bio2_and_bioes": (GOOD.replace("Paris B-LOC", "Paris S-LOC").encode(), TOKENS),
    "very_long_line": ((GOOD + "\n" + "x" * 1_000_000 + " O\n").encode(), TOKENS + [["x" * 1_000_000]]),
}

# name -> (file bytes, line or None, message fragment, {command: extra args, or None = reads it fine})
_TAGS_IGNORED = {"tag": None}  # `tag` reads only the token column, so tag problems do not concern it
REJECTED = {
    "extra_column": ((GOOD + "\nfoo bar O\n").encode(), BAD_LINE, "expected 2 columns", {}),
    "missing_tag_column": ((GOOD + "\nfoo\n").encode(), BAD_LINE, "column", {}),
    "no_tag_column_at_all": ("".join(t + "\n" for t in TOKENS[0]).encode(), 1, "only one column", _TAGS_IGNORED),
    "100k_columns": ((GOOD + "\n" + "x " * 100_000 + "O\n").encode(), BAD_LINE, "found 100001", {}),
    "nbsp_instead_of_space": ((GOOD + "\nfoo\u00a0B-LOC\n").encode(), BAD_LINE, "column", {}),
    "invalid_tag": ((GOOD + "\nfoo B_X\n").encode(), BAD_LINE, "invalid NER tag 'B_X'", _TAGS_IGNORED),
    "lowercase_tag": ((GOOD + "\nfoo b-per\n").encode(), BAD_LINE, "case-sensitive", _TAGS_IGNORED),
    "tag_without_type": ((GOOD + "\nfoo B-\n").encode(), BAD_LINE, "entity type after 'B-' is missing", _TAGS_IGNORED),
    "bioes_tag_in_declared_bio2": (
        GOOD.replace("Paris B-LOC", "Paris S-LOC").encode(),
        4,
        "BIO2 scheme",
        {"train": ["--scheme", "bio2"], "evaluate": ["--scheme", "bio2"], "tag": None},
    ),
    "b_tag_in_declared_io": (
        GOOD.encode(),
        1,
        "IO scheme",
        {"train": ["--scheme", "io"], "evaluate": ["--scheme", "io"], "tag": None},
    ),
    "tag_column_out_of_range": (
        GOOD.encode(),
        1,
        "tag_column=5",
        {"train": ["--tag-column", "5"], "evaluate": ["--tag-column", "5"], "tag": None},
    ),
    "latin1": ((GOOD + "\nZ\u00fcrich B-LOC\n").encode("latin-1"), BAD_LINE, "not valid UTF-8", {}),
    "utf8_truncated_at_eof": (GOOD.encode() + "\u00e9".encode()[:1], BAD_LINE - 1, "not valid UTF-8", {}),
    "utf8_encoded_surrogate": ((GOOD + "\n").encode() + b"\xed\xa0\x80 O\n", BAD_LINE, "not valid UTF-8", {}),
    "nul_byte": (GOOD.replace("visited", "vis\x00ited").encode(), 3, "NUL", {}),
    "utf16": (GOOD.encode("utf-16"), 1, "NUL", {}),
    "binary_all_bytes": (bytes(range(256)) * 8, 1, "NUL", {}),
    "png_image": (b"\x89PNG\r\n\x1a\n" + bytes(64), 1, "not valid UTF-8", {}),
    "gzip_compressed": (gzip.compress(GOOD.encode(), mtime=0), 1, "NUL", {}),
    "empty": (b"", None, "no sentences found", {}),
    "only_comments": (b"# one\n# two\n", None, "no sentences found", {}),
    "only_blank_and_whitespace_lines": (b"\n\n \t \n\r\n", None, "no sentences found", {}),
    "only_docstart": (b"-DOCSTART- -X- O O\n\n-DOCSTART- -X- O O\n", None, "no sentences found", {}),
    "no_entities": (
        GOOD.replace("B-PER", "O").replace("I-PER", "O").replace("B-LOC", "O").encode(),
        None,
        "no entities",
        {"evaluate": None, "tag": None},
    ),
}
ERROR_FAR_DOWN_SENTENCES = 5000  # the error is on the last line, after many streamed batches


def _cmd(command: str, path: Path, model_dir: Path, out: Path, extra: list[str]) -> list[str]:
    if command == "train":
        return ["train", "--train", str(path), "--out", str(out), "--epochs", "1", "--hidden", "8", "--quiet", *extra]
    if command == "evaluate":
        return ["evaluate", str(model_dir), str(path), "--json", *extra]
    return ["tag", str(model_dir), str(path), "--input-format", "conll", "--format", "json", *extra]


def _run(argv, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_there_are_at_least_20_distinct_malformed_inputs():
    contents = [c for c, *_ in READ_OK.values()] + [c for c, *_ in REJECTED.values()]
    assert len(REJECTED) + 2 >= 20 and len(READ_OK) + len(REJECTED) + 2 >= 35  # +2: missing file, directory
    assert len(set(contents)) >= len(contents) - 3  # the scheme/tag-column cases reuse GOOD with other options


@pytest.fixture(scope="module")
def clean(tmp_path_factory, tiny_model_dir):
    """CLI results on the clean file, which every READ_OK variant must reproduce."""
    d = tmp_path_factory.mktemp("clean")
    path = d / "good.conll"
    path.write_bytes(GOOD.encode())
    out = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(out):
        assert main(["evaluate", str(tiny_model_dir), str(path), "--json"]) == 0
    report = json.loads(out.getvalue())
    report.pop("seconds")
    return report


@pytest.mark.parametrize("name", sorted(READ_OK))
def test_read_as_intended_by_every_command(name, tmp_path, tiny_model_dir, clean, capsys):
    content, tokens = READ_OK[name]
    path = tmp_path / f"{name}.conll"
    path.write_bytes(content)

    rc, out, err = _run(_cmd("tag", path, tiny_model_dir, tmp_path / "m", []), capsys)
    assert rc == 0, err
    assert [json.loads(line)["tokens"] for line in out.splitlines()] == tokens

    rc, out, err = _run(_cmd("evaluate", path, tiny_model_dir, tmp_path / "m", []), capsys)
    assert rc == 0, err
    report = json.loads(out)
    report.pop("seconds")
    if tokens == TOKENS:  # same tokens and the same entities as the clean file
        assert report == clean
    assert ("repaired 1 I- tags" in err) == (name == "stray_i_tag_repaired")

    rc, out, err = _run(_cmd("train", path, tiny_model_dir, tmp_path / "m", []), capsys)
    assert rc == 0, err
    assert set(load_model(tmp_path / "m").labels) == {"LOC", "PER"}


def _check_rejected(rc: int, err: str, where: str, fragment: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].split(": error: ", 1)[1].startswith(where), err  # the last line: `path:line: message`
    assert fragment in lines[-1], err


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_by_every_command_with_location(name, tmp_path, tiny_model_dir, capsys):
    content, line, fragment, extra = REJECTED[name]
    path = tmp_path / f"{name}.conll"
    path.write_bytes(content)
    where = f"{path}:{line}: " if line else f"{path}: "
    for command in ("train", "evaluate", "tag"):
        args = extra.get(command, [])
        rc, _out, err = _run(_cmd(command, path, tiny_model_dir, tmp_path / "m", args or []), capsys)
        if args is None:  # this command does not use what is wrong: it reads the tokens
            assert rc == 0, err
            continue
        _check_rejected(rc, err, where, fragment)
    assert not (tmp_path / "m").exists()  # nothing written for bad training data


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_missing_file_and_directory_are_rejected(kind, tmp_path, tiny_model_dir, capsys):
    path = tmp_path / "data.conll"
    if kind == "directory":
        path.mkdir()
    fragment = "file not found" if kind == "missing" else "is a directory"
    for command in ("train", "evaluate", "tag"):
        rc, _, err = _run(_cmd(command, path, tiny_model_dir, tmp_path / "m", []), capsys)
        _check_rejected(rc, err, f"{path}: ", fragment)


def test_error_far_down_a_long_file_has_the_exact_line(tmp_path, tiny_model_dir, capsys):
    path = tmp_path / "long.conll"
    path.write_bytes(((GOOD + "\n") * (ERROR_FAR_DOWN_SENTENCES // 2) + "a b O\n").encode())
    line = (len(GOOD.splitlines()) + 1) * (ERROR_FAR_DOWN_SENTENCES // 2) + 1
    for command in ("train", "evaluate", "tag"):
        rc, out, err = _run(
            _cmd(command, path, tiny_model_dir, tmp_path / "m", ["--batch-size", "100"] if command != "train" else []),
            capsys,
        )
        _check_rejected(rc, err, f"{path}:{line}: ", "expected 2 columns")
        if command == "tag":  # streamed: the sentences before the error were already written
            assert len(out.splitlines()) >= ERROR_FAR_DOWN_SENTENCES - 100


def test_bad_dev_file_is_rejected_with_its_own_location(tmp_path, tiny_files, capsys):
    dev = tmp_path / "dev.conll"
    dev.write_bytes((GOOD + "\nfoo B_X\n").encode())
    rc, _, err = _run(
        ["train", "--train", str(tiny_files["train"]), "--dev", str(dev), "--out", str(tmp_path / "m"), "--quiet"],
        capsys,
    )
    _check_rejected(rc, err, f"{dev}:{BAD_LINE}: ", "B_X")


@pytest.mark.parametrize(
    "content, line, fragment",
    [
        (b"Kofi visited Paris\n\xff\xfe broken\n", 2, "not valid UTF-8"),
        (b"Kofi visited\x00 Paris\n", 1, "NUL"),
        (b"Kofi visited Paris\rbroken \xe9 line\r\nlater\n", 2, "not valid UTF-8 (byte 0xe9 at byte offset 7)"),
    ],
)
def test_tag_text_input_rejects_binary(tmp_path, tiny_model_dir, capsys, content, line, fragment):
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    rc, _, err = _run(["tag", str(tiny_model_dir), str(path)], capsys)
    _check_rejected(rc, err, f"{path}:{line}: ", fragment)


def test_tag_text_as_conll_refuses_a_token_conll_cannot_hold(tmp_path, tiny_model_dir, capsys):
    """write_conll writes `tag --format conll`: a -DOCSTART- token is refused (a reader would skip it), not written."""
    path = tmp_path / "in.txt"
    path.write_text("Kofi visited Paris\nthe -DOCSTART- token\n", encoding="utf-8")
    rc, _out, err = _run(["tag", str(tiny_model_dir), str(path), "--format", "conll"], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "sentence 2 (line 2): token '-DOCSTART-' cannot be written in CoNLL" in err and "--format json" in err


@pytest.mark.parametrize("command", ["evaluate", "tag"])
@pytest.mark.parametrize("size", ["0", "-1", "x"])
def test_batch_size_must_be_positive(command, size, tmp_path, tiny_model_dir, capsys):
    """--batch-size 0 used to process nothing and report success; -1 raised a traceback."""
    path = tmp_path / "good.conll"
    path.write_bytes(GOOD.encode())
    with pytest.raises(SystemExit) as exc:
        main(_cmd(command, path, tiny_model_dir, tmp_path / "m", ["--batch-size", size]))
    assert exc.value.code == 2 and "--batch-size" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--train", "{bad}", "--out", "{out}", "--quiet"],
        ["evaluate", "{model}", "{bad}"],
        ["tag", "{model}", "{bad}", "--input-format", "conll"],
    ],
)
def test_real_entry_point_exits_2_without_traceback(argv, tmp_path, tiny_model_dir):
    bad = tmp_path / "bad.conll"
    bad.write_bytes(REJECTED["latin1"][0])
    args = [a.format(bad=bad, out=tmp_path / "m", model=tiny_model_dir) for a in argv]
    r = subprocess.run([sys.executable, "-m", "windowner", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad}:{BAD_LINE}: not valid UTF-8" in r.stderr


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.sampled_from(
                [
                    b"Paris",
                    b"B-LOC",
                    b"I-PER",
                    b"O",
                    b"E-X",
                    b"b-x",
                    b"B-",
                    b"#",
                    b"-DOCSTART-",
                    b" ",
                    b"\t",
                    b"\n",
                    b"\r\n",
                    b"\r",
                    b"\xef\xbb\xbf",
                    b"\xff",
                    b"\x00",
                    b"\xc3",
                ]
            ),
            max_size=40,
        ).map(b"".join),
    )
)
def test_fuzz_reader_yields_sentences_or_a_located_data_error(data):
    """Arbitrary bytes: sentences with one BIO2 tag per token, or DataError with a line in range; nothing else."""
    from windowner.text.conll import ConllRepairWarning, read_conll

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConllRepairWarning)
            sentences = list(read_conll(io.BytesIO(data)))
    except DataError as exc:
        n_lines = data.count(b"\n") + data.count(b"\r") + 1
        assert exc.line is None or 1 <= exc.line <= n_lines
        return
    assert sentences
    for s in sentences:
        assert len(s.tokens) == len(s.tags) > 0
        assert all(t == "O" or t[:2] in ("B-", "I-") for t in s.tags)


# --------------------------------------------------------------------------- faults during training


def _diverge_after(monkeypatch, calls: int) -> None:
    """Make the loss NaN from the (calls+1)-th training batch on."""
    from windowner.nn.network import WindowNetwork

    original = WindowNetwork.loss_and_grads
    count = [0]

    def patched(self, X, Y, train=False, need_dX=True, weights=None):
        J, grads = original(self, X, Y, train, need_dX, weights)
        count[0] += 1
        return (math.nan if count[0] > calls else J), grads

    monkeypatch.setattr(WindowNetwork, "loss_and_grads", patched)


def _batches_per_epoch(pairs, batch_size: int) -> int:
    """Minibatches per epoch when every window is trained on (o_window_keep=1)."""
    return math.ceil(sum(len(t) for t, _ in pairs) / batch_size)


def test_nan_loss_raises_and_keeps_the_best_epoch(monkeypatch, tiny_corpus):
    from windowner.model.config import TrainConfig
    from windowner.model.training import TrainingDiverged, fit

    train, dev = tiny_corpus["train"][:150], tiny_corpus["dev"]
    snapshots = []
    cfg = TrainConfig(hidden=16, epochs=5, batch_size=32, seed=0, patience=5, o_window_keep=1.0)
    _diverge_after(monkeypatch, 3 * _batches_per_epoch(train, 32))
    with pytest.raises(TrainingDiverged, match=r"nan in epoch 4; try a smaller learning rate") as exc:
        fit(
            train,
            dev,
            cfg,
            progress=False,
            log=None,
            on_epoch=lambda m, r: snapshots.append((r["dev_f1"], {k: v.copy() for k, v in m.weights().items()})),
        )
    suggested = float(re.search(r"--lr ([0-9.e+-]+)", str(exc.value)).group(1))
    assert 0 < suggested < cfg.lr
    assert len(snapshots) == 3
    best = max(range(3), key=lambda i: (snapshots[i][0], -i))  # first epoch with the highest dev F1
    model = exc.value.model
    assert model is not None and model.run.best_epoch == best + 1
    for name, arr in model.weights().items():
        np.testing.assert_array_equal(arr, snapshots[best][1][name])


def test_nan_without_dev_keeps_the_lowest_loss_epoch(monkeypatch, tiny_corpus):
    """Without dev data the best epoch is the one with the lowest training loss — even if that loss is > 1."""
    from windowner.model.config import TrainConfig
    from windowner.model.training import TrainingDiverged, fit

    train = tiny_corpus["train"][:100]
    _diverge_after(monkeypatch, _batches_per_epoch(train, 64))
    with pytest.raises(TrainingDiverged) as exc:
        fit(
            train,
            None,
            TrainConfig(hidden=8, epochs=3, batch_size=64, lr=0.001, seed=0, o_window_keep=1.0),
            progress=False,
            log=None,
        )
    model = exc.value.model
    assert model.history[0]["loss"] > 1  # a loss that never beats a -1 "best score" sentinel
    assert model is not None and model.run.best_epoch == 1


def test_cli_nan_saves_best_model_and_says_where(monkeypatch, tmp_path, tiny_corpus, tiny_files, capsys):
    _diverge_after(monkeypatch, 2 * _batches_per_epoch(tiny_corpus["train"], 32))
    out = tmp_path / "m"
    rc, _, err = _run(
        [
            "train",
            "--train",
            str(tiny_files["train"]),
            "--dev",
            str(tiny_files["dev"]),
            "--out",
            str(out),
            "--epochs",
            "5",
            "--hidden",
            "16",
            "--batch-size",
            "32",
            "--o-window-keep",
            "1",
            "--quiet",
        ],
        capsys,
    )
    assert rc == 2
    assert "the loss became nan in epoch 3; try a smaller learning rate" in err
    assert f"the best model so far was saved to {out}" in err
    model = load_model(out)
    assert model.run.best_epoch in (1, 2) and all(np.isfinite(a).all() for a in model.weights().values())


def test_cli_nan_in_first_epoch_saves_nothing_and_keeps_previous_model(
    monkeypatch, tmp_path, tiny_model_dir, tiny_files, capsys
):
    import shutil

    out = tmp_path / "m"
    shutil.copytree(tiny_model_dir, out)
    before = (out / "weights.npz").read_bytes()
    _diverge_after(monkeypatch, 3)
    rc, _, err = _run(
        ["train", "--train", str(tiny_files["train"]), "--out", str(out), "--hidden", "8", "--quiet"], capsys
    )
    assert rc == 2 and "the loss became nan in epoch 1" in err and "no model was saved" in err
    assert (out / "weights.npz").read_bytes() == before


def test_cli_real_divergence_with_huge_learning_rate(tmp_path, tiny_files, capsys):
    out = tmp_path / "m"
    with np.errstate(all="ignore"):
        rc, _, err = _run(
            [
                "train",
                "--train",
                str(tiny_files["train"]),
                "--out",
                str(out),
                "--epochs",
                "5",
                "--hidden",
                "8",
                "--lr",
                "1e30",
                "--batch-size",
                "16",
                "--quiet",
            ],
            capsys,
        )
    assert rc == 2 and "try a smaller learning rate" in err
    if "saved to" in err:
        load_model(out)
    else:
        assert not out.exists()


def test_keyboard_interrupt_returns_best_model_so_far(tiny_corpus):
    from windowner.model.config import TrainConfig
    from windowner.model.training import fit

    snapshots = []

    def on_epoch(model, record):
        snapshots.append({k: v.copy() for k, v in model.weights().items()})
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    model = fit(
        tiny_corpus["train"][:150],
        None,
        TrainConfig(hidden=8, epochs=5, seed=0),
        progress=False,
        log=None,
        on_epoch=on_epoch,
    )
    losses = [r["loss"] for r in model.history]
    assert len(losses) == 2 and model.run.interrupted
    best = min(range(2), key=lambda i: (losses[i], i))  # without dev: the lowest training loss
    assert model.run.best_epoch == best + 1
    for name, arr in model.weights().items():
        np.testing.assert_array_equal(arr, snapshots[best][name])


def test_keyboard_interrupt_in_first_epoch_saves_nothing(monkeypatch, tmp_path, tiny_model_dir, tiny_files, capsys):
    import shutil

    from windowner.nn.network import WindowNetwork

    out = tmp_path / "m"
    shutil.copytree(tiny_model_dir, out)
    before = (out / "weights.npz").read_bytes()
    original, count = WindowNetwork.loss_and_grads, [0]

    def interrupted(self, *a, **kw):
        count[0] += 1
        if count[0] == 3:
            raise KeyboardInterrupt
        return original(self, *a, **kw)

    monkeypatch.setattr(WindowNetwork, "loss_and_grads", interrupted)
    rc, _, err = _run(
        ["train", "--train", str(tiny_files["train"]), "--out", str(out), "--hidden", "8", "--quiet"], capsys
    )
    assert rc == 130 and "interrupted" in err and "no model was saved" in err
    assert (out / "weights.npz").read_bytes() == before


def test_sigint_during_cli_training_saves_best_model(tmp_path, tiny_files):
    out = tmp_path / "m"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "windowner",
            "train",
            "--train",
            str(tiny_files["train"]),
            "--dev",
            str(tiny_files["dev"]),
            "--out",
            str(out),
            "--epochs",
            "500",
            "--patience",
            "500",
            "--hidden",
            "16",
            "--quiet",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("epoch   1"):
                proc.send_signal(signal.SIGINT)
                break
        err = "".join(seen) + proc.stderr.read()
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 130, err
    assert "Traceback" not in err
    assert f"interrupted: saved {out}" in err
    model = load_model(out)
    assert model.run.best_epoch >= 1


# --------------------------------------------------------------------------- streaming


def test_pipe_consumes_its_input_lazily(tiny_tagger):
    pulled = []

    def texts():
        for i in range(10_000):
            pulled.append(i)
            yield f"Kofi Mensah visited Paris on Monday, number {i}."

    docs = tiny_tagger.pipe(texts(), batch_size=8)
    first = next(docs)
    assert first.text.endswith("number 0.") and len(pulled) <= 8
    for _ in range(20):
        next(docs)
    assert len(pulled) <= 24


def test_cli_tag_writes_each_batch_before_reading_the_next(monkeypatch, tiny_model_dir, capsys):
    """stdin that fails at line 231: the four full batches before it must already be on stdout."""

    class FailingStdin(io.TextIOBase):
        def __init__(self):
            self.n = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.n += 1
            if self.n > 230:
                raise RuntimeError("input source broke")
            return f"Kofi Mensah visited Paris, line {self.n}.\n"

    monkeypatch.setattr(sys, "stdin", FailingStdin())
    capsys.readouterr()
    with pytest.raises(RuntimeError, match="input source broke"):
        main(["tag", str(tiny_model_dir), "-", "--batch-size", "50"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 200 and json.loads(lines[-1])["id"] == 199


# --------------------------------------------------------------------------- determinism


def test_python_api_same_seed_gives_byte_identical_weights(tmp_path, tiny_corpus):
    """The CLI path is tests/test_end_to_end.py::test_same_seed_gives_byte_identical_weights."""
    import windowner

    digests = []
    for name in ("a", "b"):
        tagger = windowner.train(tiny_corpus["train"][:150], dev=tiny_corpus["dev"][:20], hidden=16, epochs=2, seed=5)
        tagger.to_disk(tmp_path / name)
        digests.append(hashlib.sha256((tmp_path / name / "weights.npz").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    other = windowner.train(tiny_corpus["train"][:150], dev=tiny_corpus["dev"][:20], hidden=16, epochs=2, seed=6)
    other.to_disk(tmp_path / "c")
    assert hashlib.sha256((tmp_path / "c" / "weights.npz").read_bytes()).hexdigest() != digests[0]
