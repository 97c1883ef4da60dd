"""Data formats: JSON lines with character spans, spaCy DocBin files, ``windowner convert`` between them and CoNLL."""

import json
from pathlib import Path

import pytest

from windowner.cli import main
from windowner.errors import DataError
from windowner.text.conll import read_conll, write_conll
from windowner.text.formats import format_of, read_docbin, read_sentences, write_docbin
from windowner.text.jsonl import read_jsonl, record_of, write_jsonl

CORPORA = Path(__file__).resolve().parents[1] / "corpora"


def jsonl(tmp_path: Path, *records, name: str = "d.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def pairs(sentences) -> list:
    return [(s.tokens, s.gold) for s in sentences]


def bio2_copy(tmp_path: Path) -> Path:
    """wn-pld dev without its comment line: a file exactly as write_conll writes BIO2."""
    path = tmp_path / "dev.conll"
    write_conll(read_conll(CORPORA / "wn-pld.dev.conll"), path)
    return path


def test_format_of_extensions():
    assert [format_of(p) for p in ("a.jsonl", "a.JSON", "a.spacy", "a.conll", "-", "a.txt")] == [
        "jsonl",
        "jsonl",
        "spacy",
        "conll",
        "conll",
        "conll",
    ]
    assert format_of("a.txt", "jsonl") == "jsonl"


def test_prodigy_spans_and_doccano_labels_read_alike(tmp_path):
    text = "Kofi Mensah visited Paris on Monday."
    spacy_form = {
        "text": text,
        "spans": [{"start": 0, "end": 11, "label": "PER"}, {"start": 20, "end": 25, "label": "LOC"}],
    }
    doccano_form = {"text": text, "label": [[20, 25, "LOC"], [0, 11, "PER"]]}
    a = pairs(read_jsonl(jsonl(tmp_path, spacy_form)))
    b = pairs(read_jsonl(jsonl(tmp_path, doccano_form, name="e.jsonl")))
    assert (
        a
        == b
        == [
            (
                ["Kofi", "Mensah", "visited", "Paris", "on", "Monday", "."],
                ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"],
            )
        ]
    )


def test_record_without_tokens_is_tokenized_and_cut_into_sentences_never_inside_an_entity(tmp_path):
    text = "Anna won. Then she left for New York. U.S. Steel fell."
    spans = [{"start": 0, "end": 4, "label": "PER"}, {"start": 28, "end": 36, "label": "LOC"}]
    got = list(read_jsonl(jsonl(tmp_path, {"text": text, "spans": spans}, {"text": ""})))
    assert [s.tokens for s in got][:2] == [["Anna", "won", "."], ["Then", "she", "left", "for", "New", "York", "."]]
    assert got[0].gold == ["B-PER", "O", "O"]
    assert got[1].gold[4:6] == ["B-LOC", "I-LOC"]
    assert all(s.line == 1 for s in got)
    # an entity over a sentence end keeps its sentence whole
    whole = list(read_jsonl(jsonl(tmp_path, {"text": "Go. Now.", "spans": [[0, 7, "ORG"]]}, name="w.jsonl")))
    assert pairs(whole) == [(["Go", ".", "Now", "."], ["B-ORG", "I-ORG", "I-ORG", "O"])]


def test_record_with_tokens_keeps_them(tmp_path):
    rec = record_of(["U.S.", "troops", "left", "Iraq"], ["B-LOC", "O", "O", "B-LOC"])
    assert rec["text"] == "U.S. troops left Iraq"
    assert rec["spans"] == [
        {"start": 0, "end": 4, "token_start": 0, "token_end": 0, "label": "LOC"},
        {"start": 17, "end": 21, "token_start": 3, "token_end": 3, "label": "LOC"},
    ]
    assert pairs(read_jsonl(jsonl(tmp_path, rec))) == [
        (["U.S.", "troops", "left", "Iraq"], ["B-LOC", "O", "O", "B-LOC"])
    ]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"text": "Kofi Mensah left", "spans": [[0, 8, "PER"]]}, "span [0, 8) 'Kofi Men' (PER)"),
        (
            {"text": "Kofi Mensah left", "spans": [[0, 8, "PER"]]},
            "end 8 is not the end of a token (nearest token ends: 4 or 11)",
        ),
        (
            {"text": "Kofi Mensah left", "spans": [[2, 11, "PER"]]},
            "start 2 is not the start of a token (nearest token starts: 0 or 5)",
        ),
        (
            {"text": "Kofi Mensah left", "spans": [[0, 11, "PER"], [5, 16, "LOC"]]},
            "span [5, 16) 'Mensah left' (LOC) overlaps span [0, 11)",
        ),
        ({"text": "Kofi left", "spans": [[0, 4, "B-PER"]]}, "looks like a tag"),
        ({"text": "Kofi left", "spans": [[0, 40, "PER"]]}, "is not a non-empty range of the text"),
        ({"spans": []}, 'no "text"'),
        ({"text": 3}, '"text" is int'),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_records_are_path_line_errors(tmp_path, record, expected):
    path = jsonl(tmp_path, {"text": "fine"}, record)
    with pytest.raises(DataError) as info:
        list(read_jsonl(path))
    assert str(info.value).startswith(f"{path}:2: ")
    assert expected in str(info.value)


def test_binary_and_empty_jsonl_files(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_bytes(b'{"text": "a"}\n\xff\xfe\n')
    with pytest.raises(DataError, match=r"b\.jsonl:2: not valid UTF-8"):
        list(read_jsonl(path))
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no sentences found"):
        list(read_jsonl(path))


def test_mapping_and_labels_apply_to_jsonl(tmp_path):
    path = jsonl(tmp_path, {"text": "Kofi saw Accra", "spans": [[0, 4, "PERSON"], [9, 14, "GPE"]]})
    got = pairs(read_sentences(path, mapping={"PERSON": "PER"}, labels=["PER"]))
    assert got == [(["Kofi", "saw", "Accra"], ["B-PER", "O", "O"])]


def test_docbin_write_and_read(tmp_path):
    data = [(["Kofi", "Mensah", "visited", "Accra"], ["B-PER", "I-PER", "O", "B-LOC"]), (["Hi"], ["O"])]
    path = tmp_path / "d.spacy"
    assert write_docbin(data, path) == 2
    assert pairs(read_docbin(path)) == data


def test_docbin_sentences_and_whitespace_tokens(tmp_path):
    import spacy
    from spacy.tokens import DocBin, Span

    nlp = spacy.blank("en")
    doc = nlp("Kofi  Mensah won. Accra cheered.")
    doc.ents = [Span(doc, 0, 3, "PER"), Span(doc, 5, 6, "LOC")]  # token 1 is whitespace
    for i, t in enumerate(doc):
        t.is_sent_start = i in (0, 5)
    path = tmp_path / "s.spacy"
    DocBin(docs=[doc]).to_disk(path)
    assert pairs(read_docbin(path)) == [
        (["Kofi", "Mensah", "won", "."], ["B-PER", "I-PER", "O", "O"]),
        (["Accra", "cheered", "."], ["B-LOC", "O", "O"]),
    ]
    bad = tmp_path / "bad.spacy"
    bad.write_bytes(b"not a docbin")
    with pytest.raises(DataError, match=r"bad\.spacy: not a spaCy DocBin"):
        list(read_docbin(bad))


@pytest.mark.parametrize("middle", ["jsonl", "spacy"])
def test_convert_round_trips_bio2_conll_byte_identically(tmp_path, middle):
    src = bio2_copy(tmp_path)
    mid, back = tmp_path / f"mid.{middle}", tmp_path / "back.conll"
    assert main(["convert", str(src), str(mid)]) == 0
    assert main(["convert", str(mid), str(back)]) == 0
    assert back.read_bytes() == src.read_bytes()


def test_convert_jsonl_to_spacy_and_back_keeps_the_data(tmp_path):
    src = bio2_copy(tmp_path)
    assert main(["convert", str(src), str(tmp_path / "a.jsonl")]) == 0
    assert main(["convert", str(tmp_path / "a.jsonl"), str(tmp_path / "b.spacy")]) == 0
    assert main(["convert", str(tmp_path / "b.spacy"), str(tmp_path / "c.txt"), "--to", "jsonl"]) == 0
    assert (tmp_path / "c.txt").read_bytes() == (tmp_path / "a.jsonl").read_bytes()


def test_convert_reports_bad_input_in_one_line(tmp_path, capsys):
    path = jsonl(tmp_path, {"text": "Kofi left", "spans": [[1, 4, "PER"]]})
    assert main(["convert", str(path), str(tmp_path / "o.conll")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"windowner convert: error: {path}:1: span [1, 4) 'ofi' (PER)")
    assert "Traceback" not in err


def test_train_evaluate_tag_from_jsonl(tmp_path, tiny_files, capsys):
    files = {}
    for part in ("train", "dev", "test"):
        files[part] = tmp_path / f"{part}.jsonl"
        write_jsonl(read_conll(tiny_files[part]), files[part])
    out = tmp_path / "m"
    args = ["--epochs", "2", "--hidden", "16", "--seed", "3", "--quiet"]
    assert main(["train", "--train", str(files["train"]), "--dev", str(files["dev"]), "--out", str(out), *args]) == 0
    from_conll = tmp_path / "m2"
    assert (
        main(
            [
                "train",
                "--train",
                str(tiny_files["train"]),
                "--dev",
                str(tiny_files["dev"]),
                "--out",
                str(from_conll),
                *args,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(out), str(files["test"]), "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(from_conll), str(tiny_files["test"]), "--json"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert a["overall"] == b["overall"] and a["overall"]["f1"] > 0.2
    # evaluate and tag raw JSON lines (no tokens): tokenized as the model tokenizes text
    raw = jsonl(tmp_path, {"text": "Kofi Mensah visited Paris on Monday.", "spans": [[0, 11, "PER"]]}, name="raw.jsonl")
    assert main(["evaluate", str(out), str(raw), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == 7
    assert main(["tag", str(out), str(raw), "--input-format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines if line] == ["Kofi", "Mensah", "visited", "Paris", "on", "Monday", "."]


def test_tag_spacy_input_and_stdin_needs_a_path(tmp_path, tiny_model_dir, capsys):
    data = [(["Kofi", "Mensah", "visited", "Accra"], ["B-PER", "I-PER", "O", "B-LOC"])]
    path = tmp_path / "in.spacy"
    write_docbin(data, path)
    assert main(["tag", str(tiny_model_dir), str(path), "--input-format", "spacy"]) == 0
    out = capsys.readouterr().out.split()
    assert out[0::2] == data[0][0]
    assert main(["convert", "-", str(tmp_path / "o.spacy"), "--from", "spacy"]) == 2
    assert "cannot be read from stdin" in capsys.readouterr().err
