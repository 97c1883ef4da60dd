"""Tests for windowner.text.conll: CoNLL reading/writing, tagging schemes and input errors."""

from __future__ import annotations

import io
import itertools
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from windowner.errors import DataError
from windowner.text.conll import ConllRepairWarning, ReadStats, Sentence, read_conll, write_conll
from windowner.text.tags import SCHEMES, bio2_spans, from_bio2, parse_labels, parse_mapping, to_bio2

CORPUS = Path("/work/shared/corpora/conll03.train.conll")


def write(tmp_path: Path, content: str | bytes, name: str = "data.conll") -> Path:
    p = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    p.write_bytes(content)
    return p


def read(path, **kw) -> list[Sentence]:
    return list(read_conll(path, **kw))


def pairs(sents: list[Sentence]) -> list[tuple[list[str], list[str] | None]]:
    return [(s.tokens, s.tags) for s in sents]


def error_of(path, **kw) -> str:
    with pytest.raises(DataError) as exc:
        read(path, **kw)
    return str(exc.value)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """Any unexpected warning fails the test (pytest.warns still catches expected ones)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------------- formats


def test_two_columns(tmp_path):
    p = write(tmp_path, "EU B-ORG\nrejects O\n\nPeter B-PER\nBlackburn I-PER\n")
    sents = read(p)
    assert sents == [
        Sentence(["EU", "rejects"], ["B-ORG", "O"], 1),
        Sentence(["Peter", "Blackburn"], ["B-PER", "I-PER"], 4),
    ]


def test_four_columns_conll2003(tmp_path):
    p = write(tmp_path, "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n")
    assert pairs(read(p)) == [(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"])]


def test_tab_separated_and_mixed_runs(tmp_path):
    p = write(tmp_path, "EU\tNNP\tB-ORG\nrejects \t VBZ\t\tO\n")
    assert pairs(read(p)) == [(["EU", "rejects"], ["B-ORG", "O"])]


def test_tag_column_choice(tmp_path):
    p = write(tmp_path, "EU B-ORG NNP\nrejects O VBZ\n")
    assert pairs(read(p, tag_column=1)) == [(["EU", "rejects"], ["B-ORG", "O"])]
    assert pairs(read(p, tag_column=-2)) == [(["EU", "rejects"], ["B-ORG", "O"])]
    assert f"{p}:1:" in error_of(p)  # last column 'NNP' is not a tag


def test_tag_column_out_of_range(tmp_path):
    p = write(tmp_path, "EU B-ORG\n")
    msg = error_of(p, tag_column=3)
    assert msg.startswith(f"{p}:1:") and "tag_column=3" in msg


def test_bad_tag_column_arguments():
    with pytest.raises(ValueError, match="word column"):
        read_conll("x.conll", tag_column=0)
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        read_conll("x.conll", scheme="bilou")


def test_token_only_input(tmp_path):
    p = write(tmp_path, "EU\nrejects\n\nPeter\n")
    assert pairs(read(p, tag_column=None)) == [(["EU", "rejects"], None), (["Peter"], None)]
    st_ = ReadStats()
    q = write(tmp_path, "EU NNP B-ORG\nrejects VBZ O\n", "tagged.conll")
    assert pairs(read(q, tag_column=None, stats=st_)) == [(["EU", "rejects"], None)]
    assert st_.scheme is None and st_.tokens == 2


def test_docstart_is_skipped_and_ends_sentence(tmp_path):
    p = write(tmp_path, "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n-DOCSTART- -X- -X- O\nPeter NNP B-NP B-PER\n")
    assert pairs(read(p)) == [(["EU"], ["B-ORG"]), (["Peter"], ["B-PER"])]
    q = write(tmp_path, "-DOCSTART-\nEU B-ORG\n", "bare.conll")
    assert pairs(read(q)) == [(["EU"], ["B-ORG"])]


def test_comments_are_skipped(tmp_path):
    p = write(tmp_path, "# a header, BIO2, labels PER LOC\n#another\nEU B-ORG\n# inside a sentence\nsays O\n\n# end\n")
    assert read(p) == [Sentence(["EU", "says"], ["B-ORG", "O"], 3)]


def test_hash_token(tmp_path):
    p = write(tmp_path, "# header comment\n# O\nwin B-MISC\n# B-PER\n\n# note about O things\n")
    assert read(p) == [Sentence(["#", "win", "#"], ["O", "B-MISC", "B-PER"], 2)]
    # In a 4-column file, a 2-column '# O' line is a comment, a 4-column one a token.
    q = write(tmp_path, "# O\n# SYM B-NP O\nEU NNP B-NP B-ORG\n", "four.conll")
    assert pairs(read(q)) == [(["#", "EU"], ["O", "B-ORG"])]
    # Hashtags with the file's column count and a valid tag are tokens too.
    h = write(tmp_path, "#win B-MISC\nyes O\n", "hashtag.conll")
    assert pairs(read(h)) == [(["#win", "yes"], ["B-MISC", "O"])]
    # A file of '#' tokens only.
    only = write(tmp_path, "# O\n", "only.conll")
    assert pairs(read(only)) == [(["#"], ["O"])]


def test_bom_crlf_no_final_newline_trailing_whitespace(tmp_path):
    p = write(tmp_path, b"\xef\xbb\xbfEU B-ORG  \r\nrejects\tO\t\r\n\r\nPeter B-PER\nBlackburn I-PER \t")
    assert read(p) == [
        Sentence(["EU", "rejects"], ["B-ORG", "O"], 1),
        Sentence(["Peter", "Blackburn"], ["B-PER", "I-PER"], 4),
    ]


def test_lone_cr_line_endings(tmp_path):
    p = write(tmp_path, b"EU B-ORG\rrejects O\r\rPeter B-PER\r")
    assert read(p) == [Sentence(["EU", "rejects"], ["B-ORG", "O"], 1), Sentence(["Peter"], ["B-PER"], 4)]


def test_multiple_and_whitespace_only_blank_lines(tmp_path):
    p = write(tmp_path, "\n\n  \nEU B-ORG\n\n\t\n \u00a0\n\nPeter B-PER\n\n\n")
    assert read(p) == [Sentence(["EU"], ["B-ORG"], 4), Sentence(["Peter"], ["B-PER"], 9)]


def test_long_lines_and_unicode_tokens(tmp_path):
    long_tok = "x" * 200_000
    toks = ["Zürich", "東京", "😀", "a\u00a0b", "Ελλάδα", long_tok, "\u200b"]
    p = write(tmp_path, "".join(f"{t} O\n" for t in toks))
    assert read(p)[0].tokens == toks


def test_sources_path_str_text_and_binary_file_and_stdin(tmp_path, monkeypatch):
    p = write(tmp_path, "EU B-ORG\n")
    expected = [(["EU"], ["B-ORG"])]
    assert pairs(read(str(p))) == expected
    with open(p, "rb") as f:
        assert pairs(read(f)) == expected
    with open(p, encoding="utf-8") as f:
        assert pairs(read(f)) == expected
    assert pairs(read(io.StringIO("\ufeffEU B-ORG\n"))) == expected
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"EU B-ORG\n"), encoding="utf-8"))
    assert pairs(read("-")) == expected


def test_missing_file(tmp_path):
    p = tmp_path / "nope.conll"
    msg = error_of(p)
    assert msg.startswith(f"{p}:") and "not found" in msg


def test_file_is_closed_when_generator_is_closed(tmp_path, monkeypatch):
    p = write(tmp_path, "a O\n\nb O\n")
    opened = []
    real_open = open

    def spy(*a, **k):
        f = real_open(*a, **k)
        opened.append(f)
        return f

    monkeypatch.setattr("builtins.open", spy)
    gen = read_conll(p)
    next(gen)
    gen.close()
    assert opened and opened[0].closed


# --------------------------------------------------------------------------- streaming


def test_streaming_reads_only_what_is_needed(tmp_path):
    p = tmp_path / "big.conll"
    with open(p, "w", encoding="utf-8") as f:
        for i in range(60_000):
            f.write(f"tok{i} O\nname B-PER\nmore I-PER\n\n")
    size = p.stat().st_size
    assert size > 1_000_000
    with open(p, "rb") as f:
        gen = read_conll(f)
        first = next(gen)
        assert first.tokens == ["tok0", "name", "more"]
        assert f.tell() < 100_000  # nowhere near the end of the file
        gen.close()


class CountingReader(io.BytesIO):
    """A binary file that counts the lines taken from it."""

    lines_read = 0

    def __next__(self):
        self.lines_read += 1
        return super().__next__()


def test_streaming_counts_lines_read():
    f = CountingReader(b"a O\nb O\n\n" * 100_000)
    gen = read_conll(f)
    assert next(gen).tokens == ["a", "b"]
    assert f.lines_read <= 4
    gen.close()


def test_streaming_endless_source():
    endless = itertools.cycle([b"a B-PER\n", b"b I-PER\n", b"\n"])
    gen = read_conll(endless)
    assert [next(gen).tags for _ in range(3)] == [["B-PER", "I-PER"]] * 3


# --------------------------------------------------------------------------- schemes


def test_iob1_explicit_and_auto(tmp_path):
    text = "Peter I-PER\nBlackburn I-PER\nParis B-PER\nsaid O\nEU I-ORG\n"
    p = write(tmp_path, text)
    expected = [["B-PER", "I-PER", "B-PER", "O", "B-ORG"]]
    assert [s.tags for s in read(p, scheme="iob1")] == expected
    stats = ReadStats()
    assert [s.tags for s in read(p, stats=stats)] == expected  # auto: first entity is I- -> IOB1
    assert stats.scheme == "iob1" and stats.repaired == 0 and stats.first_repair_line is None


def test_io_scheme(tmp_path):
    p = write(tmp_path, "Peter I-PER\nBlackburn I-PER\nin O\nParis I-LOC\nFrance I-LOC\nEU I-ORG\n")
    assert read(p, scheme="io")[0].tags == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG"]
    q = write(tmp_path, "Peter B-PER\n", "b.conll")
    assert error_of(q, scheme="io").startswith(f"{q}:1:")


def test_bioes_auto_detected(tmp_path):
    p = write(tmp_path, "EU S-ORG\nsaid O\nPeter B-PER\nvan I-PER\nBlackburn E-PER\nParis S-LOC\n")
    stats = ReadStats()
    assert read(p, stats=stats)[0].tags == ["B-ORG", "O", "B-PER", "I-PER", "I-PER", "B-LOC"]
    assert stats.scheme == "bioes"
    assert read(p, scheme="bioes")[0].tags == ["B-ORG", "O", "B-PER", "I-PER", "I-PER", "B-LOC"]


def test_bioes_detected_late_in_file(tmp_path):
    p = write(tmp_path, "Peter B-PER\nBlackburn I-PER\n\n" * 3 + "EU S-ORG\n")
    stats = ReadStats()
    sents = read(p, stats=stats)
    assert stats.scheme == "bioes" and sents[-1].tags == ["B-ORG"]


def test_bioes_invalid_sequences_are_repaired(tmp_path):
    p = write(tmp_path, "a O\nb I-PER\nc E-PER\nd E-LOC\ne S-ORG\nf I-ORG\n")
    stats = ReadStats()
    with pytest.warns(ConllRepairWarning, match=r"repaired 3 I- tags .* \(first at line 2\)"):
        sents = read(p, stats=stats)
    assert sents[0].tags == ["O", "B-PER", "I-PER", "B-LOC", "B-ORG", "B-ORG"]
    assert stats.scheme == "bioes" and stats.repaired == 3 and stats.first_repair_line == 2


def test_bio2_repair_warning(tmp_path):
    p = write(tmp_path, "Peter B-PER\nParis I-LOC\n\nthe O\nIranian I-MISC\nResistance I-ORG\n")
    stats = ReadStats()
    with pytest.warns(ConllRepairWarning) as rec:
        sents = read(p, stats=stats)
    assert len(rec) == 1
    assert str(rec[0].message) == (
        f"{p}: repaired 3 I- tags that did not follow B-/I- of the same type to B- (first at line 2)"
    )
    assert [s.tags for s in sents] == [["B-PER", "B-LOC"], ["O", "B-MISC", "B-ORG"]]
    assert stats.scheme == "bio2" and stats.repaired == 3 and stats.first_repair_line == 2


def test_bio2_declared_repairs_even_if_first_entity_is_i(tmp_path):
    p = write(tmp_path, "Peter I-PER\n")
    with pytest.warns(ConllRepairWarning, match="first at line 1"):
        assert read(p, scheme="bio2")[0].tags == ["B-PER"]
    assert read(p, scheme="bio2", warn=False)[0].tags == ["B-PER"]  # warn=False: no warning


def test_no_warning_for_iob1_io(tmp_path):
    p = write(tmp_path, "a B-PER\nb O\nc I-PER\n")
    for scheme in ("iob1", "io"):
        if scheme == "io":
            p = write(tmp_path, "a I-PER\nb O\nc I-PER\n", "io.conll")
        stats = ReadStats()
        assert read(p, scheme=scheme, stats=stats)[0].tags == ["B-PER", "O", "B-PER"]
        assert stats.repaired == 0 and stats.scheme == scheme


def test_only_o_tags_is_bio2(tmp_path):
    stats = ReadStats()
    read(write(tmp_path, "a O\n"), stats=stats)
    assert stats.scheme == "bio2"


@pytest.mark.parametrize(
    ("tag", "scheme"), [("E-PER", "bio2"), ("S-PER", "bio2"), ("E-PER", "iob1"), ("B-PER", "io"), ("S-LOC", "io")]
)
def test_scheme_mismatch(tmp_path, tag, scheme):
    p = write(tmp_path, f"x O\ny {tag}\n")
    msg = error_of(p, scheme=scheme)
    assert msg.startswith(f"{p}:2:") and scheme.upper() in msg and tag in msg


BIO2_EXAMPLES = [
    [],
    ["O"],
    ["B-PER"],
    ["B-PER", "I-PER", "O", "B-LOC"],
    ["B-PER", "B-PER", "I-PER", "B-PER"],
    ["B-PER", "B-LOC", "I-LOC", "I-LOC", "O", "O", "B-LOC"],
]


@pytest.mark.parametrize("tags", BIO2_EXAMPLES)
@pytest.mark.parametrize("scheme", ["bio2", "iob1", "bioes"])
def test_scheme_round_trip(tags, scheme):
    assert to_bio2(from_bio2(tags, scheme), scheme) == (tags, 0)
    assert to_bio2(from_bio2(tags, scheme), "auto") == (tags, 0)


def test_scheme_examples():
    tags = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC", "I-LOC", "B-ORG"]
    assert from_bio2(tags, "iob1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC", "I-LOC", "I-ORG"]
    assert from_bio2(tags, "bioes") == ["B-PER", "E-PER", "S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "S-ORG"]
    assert from_bio2(tags, "io") == ["I-PER", "I-PER", "I-PER", "O", "I-LOC", "I-LOC", "I-LOC", "I-ORG"]
    # IO cannot keep adjacent same-type entities apart: they merge.
    assert to_bio2(from_bio2(tags, "io"), "io")[0] == [
        "B-PER",
        "I-PER",
        "I-PER",
        "O",
        "B-LOC",
        "I-LOC",
        "I-LOC",
        "B-ORG",
    ]
    assert from_bio2(["O", "I-PER"], "bio2") == ["O", "B-PER"]  # stray I- treated as an opening


def test_to_bio2_repairs_and_errors():
    assert to_bio2(["O", "I-PER", "I-LOC"], "bio2") == (["O", "B-PER", "B-LOC"], 2)
    assert to_bio2(["S-PER", "E-PER"], "bioes") == (["B-PER", "B-PER"], 1)
    assert to_bio2(["I-PER", "O", "I-PER"], "iob1") == (["B-PER", "O", "B-PER"], 0)  # openings, not repairs
    assert to_bio2(["I-PER", "O", "I-PER"], "io") == (["B-PER", "O", "B-PER"], 0)
    assert to_bio2(["I-PER", "O", "I-PER"], "auto") == (["B-PER", "O", "B-PER"], 0)  # detected IOB1
    assert to_bio2(["B-PER", "O", "I-PER"], "auto") == (["B-PER", "O", "B-PER"], 1)  # detected BIO2
    with pytest.raises(ValueError, match="BIO2"):
        to_bio2(["E-PER"], "bio2")
    with pytest.raises(ValueError, match="invalid NER tag"):
        to_bio2(["B_PER"], "auto")
    with pytest.raises(ValueError):
        from_bio2(["O"], "auto")


def test_bio2_spans():
    assert bio2_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG"]) == [
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("LOC", 4, 5),
        ("ORG", 5, 6),
    ]
    assert bio2_spans([]) == []
    with pytest.raises(ValueError):
        bio2_spans(["S-PER"])


# --------------------------------------------------------------------------- labels and mapping


def test_parse_labels():
    assert parse_labels("PER,LOC,DATE") == ["PER", "LOC", "DATE"]
    assert parse_labels(" PER , LOC ") == ["PER", "LOC"]
    for bad, msg in [
        ("", "no entity types"),
        ("PER,,LOC", "empty"),
        ("PER,", "empty"),
        ("PER,PER", "twice"),
        ("B-PER", "prefix"),
        ("O", "not an entity type"),
        ("P ER", "whitespace"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_labels(bad)


def test_parse_mapping():
    assert parse_mapping("PERSON=PER,GPE=LOC") == {"PERSON": "PER", "GPE": "LOC"}
    assert parse_mapping(" PERSON = PER , MISC=O") == {"PERSON": "PER", "MISC": "O"}
    for bad, msg in [
        ("", "no mapping"),
        ("PERSON", "OLD=NEW"),
        ("A=B=C", "OLD=NEW"),
        ("=PER", "empty"),
        ("PER=", "empty"),
        ("A=B,A=C", "twice"),
        ("PERSON=PER,", "OLD=NEW"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_mapping(bad)


def test_labels_and_mapping(tmp_path):
    p = write(tmp_path, "a B-PERSON\nb I-PERSON\nc B-GPE\nd B-LOC\ne I-LOC\nf B-ORG\ng I-NORP\n")
    sents = read(p, mapping={"PERSON": "PER", "GPE": "LOC"}, labels=["PER", "LOC"], warn=False)
    # GPE->LOC next to LOC stays a separate entity; ORG and the repaired NORP become O.
    assert sents[0].tags == ["B-PER", "I-PER", "B-LOC", "B-LOC", "I-LOC", "O", "O"]


def test_labels_mapping_strings_and_drop(tmp_path):
    p = write(tmp_path, "a B-PERSON\nb B-MISC\nc B-LOC\n")
    assert read(p, mapping="PERSON=PER,MISC=O")[0].tags == ["B-PER", "O", "B-LOC"]
    assert read(p, labels="LOC")[0].tags == ["O", "O", "B-LOC"]
    assert read(p, labels=[])[0].tags == ["O", "O", "O"]
    with pytest.raises(ValueError):
        read_conll(p, labels=["B-PER"])


# --------------------------------------------------------------------------- errors


def test_error_one_column(tmp_path):
    p = write(tmp_path, "EU B-ORG\nrejects O\nGerman\n")
    msg = error_of(p)
    assert msg.startswith(f"{p}:3:") and "one column" in msg and "tag_column=None" in msg
    q = write(tmp_path, "# header\nEU\n", "first.conll")
    assert error_of(q).startswith(f"{q}:2:")


@pytest.mark.parametrize("tag", ["B_PER", "X-PER", "B-", "b-per", "o", "BPER", "I-", "-PER"])
def test_error_invalid_tag(tmp_path, tag):
    p = write(tmp_path, f"# comment\nEU B-ORG\n\nPeter {tag}\n")
    msg = error_of(p)
    assert msg.startswith(f"{p}:4: invalid NER tag {tag!r}")


def test_error_lowercase_tag_explains_case(tmp_path):
    p = write(tmp_path, "EU b-per\n")
    assert "case-sensitive" in error_of(p)


def test_error_varying_column_count(tmp_path):
    p = write(tmp_path, "EU NNP B-ORG\nrejects VBZ O\n\nGerman B-MISC\n")
    msg = error_of(p)
    assert msg.startswith(f"{p}:4:") and "expected 3 columns" in msg and "found 2" in msg
    q = write(tmp_path, "EU B-ORG\nrejects VBZ O\n", "more.conll")
    assert error_of(q).startswith(f"{q}:2: expected 2 columns")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"# only\n# comments\n\n", b"\xef\xbb\xbf", b"-DOCSTART- O\n\n"])
def test_error_no_sentences(tmp_path, content):
    p = write(tmp_path, content)
    msg = error_of(p)
    assert msg.startswith(f"{p}: no sentences found")


def test_error_not_utf8(tmp_path):
    p = write(tmp_path, b"EU B-ORG\nrejects O\n\n" + "Zürich B-LOC\n".encode("latin-1"))
    msg = error_of(p)
    assert msg.startswith(f"{p}:4: not valid UTF-8") and "save the file as UTF-8" in msg


def test_error_not_utf8_text_mode_file(tmp_path):
    p = write(tmp_path, b"a O\n" + "é O\n".encode("latin-1"))
    with open(p, encoding="utf-8") as f:
        assert "not valid UTF-8" in error_of(f)


def test_error_nul_byte(tmp_path):
    p = write(tmp_path, b"EU B-ORG\nrejects O\n\x00\x01\x02 O\n")
    msg = error_of(p)
    assert msg.startswith(f"{p}:3:") and "binary" in msg


def test_error_utf16_file(tmp_path):
    p = write(tmp_path, "EU B-ORG\n".encode("utf-16"))
    assert error_of(p).startswith(f"{p}:1:")


def test_sentences_before_an_error_are_yielded(tmp_path):
    p = write(tmp_path, "a O\n\nb B_X\n")
    gen = read_conll(p)
    assert next(gen).tokens == ["a"]
    with pytest.raises(DataError, match=f"{p}:3:"):
        next(gen)


# --------------------------------------------------------------------------- writing


def test_write_read_round_trip(tmp_path):
    sents = [Sentence(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"], 1), (["Peter", "B."], ["B-PER", "I-PER"])]
    p = tmp_path / "out.conll"
    assert write_conll(sents, p) == 2
    assert p.read_text(encoding="utf-8") == "EU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\nB. I-PER\n\n"
    assert pairs(read(p)) == [
        (["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"]),
        (["Peter", "B."], ["B-PER", "I-PER"]),
    ]


def test_write_schemes_and_targets(tmp_path, capsys):
    sents = [(["a", "b", "c"], ["B-PER", "I-PER", "B-PER"])]
    buf = io.StringIO()
    assert write_conll(sents, buf, scheme="bioes") == 1
    assert buf.getvalue() == "a B-PER\nb E-PER\nc S-PER\n\n"
    bbuf = io.BytesIO()
    write_conll([(["ü"], ["O"])], bbuf)
    assert bbuf.getvalue() == "ü O\n\n".encode()
    assert write_conll(sents, "-", scheme="iob1") == 1
    assert capsys.readouterr().out == "a I-PER\nb I-PER\nc B-PER\n\n"
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        write_conll(sents, buf, scheme="auto")


def test_write_skips_empty_sentences():
    buf = io.StringIO()
    assert write_conll([([], []), (["a"], ["O"])], buf) == 1
    assert buf.getvalue() == "a O\n\n"


@pytest.mark.parametrize("token", ["New York", "a\tb", "a\nb", "", "-DOCSTART-", "x\r"])
def test_write_rejects_unwritable_tokens(token):
    with pytest.raises(ValueError, match=r"^sentence 2: token"):
        write_conll([(["ok"], ["O"]), (["fine", token], ["O", "O"])], io.StringIO())


def test_write_rejects_bad_tags():
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        write_conll([(["a", "b"], ["O"])], io.StringIO())
    with pytest.raises(ValueError, match="sentence 1"):
        write_conll([(["a"], ["E-PER"])], io.StringIO())
    with pytest.raises(ValueError, match="no tags"):
        write_conll([Sentence(["a"], None, 1)], io.StringIO())


# --------------------------------------------------------------------------- property test

TOKEN_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
tokens_st = st.text(TOKEN_CHARS, min_size=1, max_size=8).filter(
    lambda t: not any(c.isspace() for c in t) and not t.startswith("#") and t != "-DOCSTART-"
)


@st.composite
def bio2_sentence(draw):
    n = draw(st.integers(1, 12))
    toks = draw(st.lists(tokens_st, min_size=n, max_size=n))
    tags: list[str] = []
    for _ in range(n):
        choice = draw(st.sampled_from(["O", "B-PER", "B-LOC", "B-DATE", "I"]))
        if choice == "I":
            choice = "I-" + tags[-1][2:] if tags and tags[-1] != "O" else "O"
        tags.append(choice)
    return toks, tags


def merge_adjacent(tags: list[str]) -> list[str]:
    """What BIO2 tags become after a trip through IO: adjacent same-type entities merge."""
    out = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-") and i and tags[i - 1] != "O" and tags[i - 1][2:] == tag[2:]:
            tag = "I-" + tag[2:]
        out.append(tag)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sents=st.lists(bio2_sentence(), min_size=1, max_size=6), scheme=st.sampled_from(SCHEMES))
def test_property_write_read_round_trip(tmp_path, sents, scheme):
    p = tmp_path / "prop.conll"
    assert write_conll(sents, p, scheme=scheme) == len(sents)
    expected = [(t, merge_adjacent(g) if scheme == "io" else g) for t, g in sents]
    for read_scheme in (scheme, "auto"):
        stats = ReadStats()
        assert pairs(read(p, scheme=read_scheme, stats=stats)) == expected
        assert stats.repaired == 0
        assert stats.sentences == len(sents) and stats.tokens == sum(len(t) for t, _ in sents)
    assert from_bio2(to_bio2(from_bio2(sents[0][1], scheme), scheme)[0], scheme) == from_bio2(sents[0][1], scheme)


# --------------------------------------------------------------------------- block reader

# Binary files are read in blocks, text-mode files in batches of lines, other iterables line by line:
# all must read alike.
PIECES = [
    b"Paris",
    b"B-LOC",
    b"I-PER",
    b"E-X",
    b"S-X",
    b"O",
    b"O",
    b"b-x",
    b"#",
    b"-DOCSTART-",
    b" ",
    b" ",
    b"\t",
    b"\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\x0c",
    b"\x0b",
    b"\x1c",
    "\u00a0".encode(),
    "\u2028".encode(),
    "\u3000".encode(),
    "é".encode(),
    "😀".encode(),
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\x00",
]


def outcome(source, **kw) -> tuple:
    """What reading ``source`` gives: sentences, stats and warnings, or the error message."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stats = ReadStats()
            sents = [(s.tokens, s.tags, s.line) for s in read_conll(source, stats=stats, **kw)]
    except DataError as e:
        return ("error", str(e))
    return ("ok", sents, stats, [str(w.message) for w in caught])


class SmallReads(io.BytesIO):
    """A pipe-like binary file: read1 returns a few bytes; read (which would wait for a full block) fails."""

    def read1(self, size=-1):
        return super().read1(min(size, 5))

    def read(self, size=-1):
        raise AssertionError("read() would block until the block is full; read1() must be used")


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from(PIECES), max_size=50).map(b"".join),
    block=st.sampled_from([1, 2, 3, 7, 64]),
    tag_column=st.sampled_from([-1, None]),
)
def test_property_block_reader_matches_line_reader(data, block, tag_column):
    from unittest import mock

    expected = outcome(io.BytesIO(data).readlines(), tag_column=tag_column)
    with mock.patch("windowner.text.lines.BLOCK_SIZE", block):
        assert outcome(io.BytesIO(data), tag_column=tag_column) == expected
        assert outcome(SmallReads(data), tag_column=tag_column) == expected
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return
    if b"\x00" not in data:
        # A text-mode file (lines end at LF only with newline="\n") passes its lines on in batches.
        with mock.patch("windowner.text.conll._LINE_BATCH", block):
            text_file = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="\n")
            assert outcome(text_file, tag_column=tag_column) == expected


@pytest.mark.parametrize(
    "bad, message", [(b"Z\xfcrich", "not valid UTF-8 (byte 0xfc at byte offset 1)"), (b"x\x00y", "contains a NUL byte")]
)
def test_bad_byte_across_a_block_boundary_has_the_exact_line(tmp_path, bad, message):
    n = 13_102  # so that the bad line crosses byte 65_536, where the first block ends
    good = b"\xef\xbb\xbfEU B-ORG\r\nrejects\tO\n\n" + b"a O\n\n" * n
    assert len(good) < 65_536 < len(good) + len(bad)
    p = write(tmp_path, good + bad + b" O\n\nlater O\n")
    gen = read_conll(p)
    assert sum(1 for _ in itertools.islice(gen, n + 1)) == n + 1  # sentences before the error are yielded
    with pytest.raises(DataError) as exc:
        next(gen)
    assert str(exc.value).startswith(f"{p}:{4 + 2 * n}: {message}")


def test_line_longer_than_a_block_and_character_split_between_blocks(tmp_path, monkeypatch):
    long_tok = "é" * 50_000  # 100_000 bytes
    p = write(tmp_path, f"a O\n{long_tok} B-PER\nb I-PER\n\n東京 B-LOC\n")
    monkeypatch.setattr("windowner.text.lines.BLOCK_SIZE", 3)  # splits multi-byte characters
    assert read(p) == [Sentence(["a", long_tok, "b"], ["O", "B-PER", "I-PER"], 1), Sentence(["東京"], ["B-LOC"], 5)]


def test_text_mode_decode_error_comes_after_the_sentences_before_it(tmp_path):
    n = 20_000  # the text file decodes ahead in chunks: the bad byte is found while an earlier line is read
    p = write(tmp_path, b"a O\n\n" * n + b"Z\xfcrich B-LOC\n")
    sentences = 0
    with open(p, encoding="utf-8") as f, pytest.raises(DataError) as exc:
        for _ in read_conll(f):
            sentences += 1
    line = exc.value.line
    assert "not valid UTF-8 (at or shortly after this line)" in str(exc.value)
    assert 2 * n - 10_000 < line <= 2 * n + 1 and sentences == (line - 1) // 2


def test_pipe_like_binary_source_is_read_with_read1():
    assert pairs(read(SmallReads(b"EU B-ORG\nrejects O\n\nPeter B-PER\n"))) == [
        (["EU", "rejects"], ["B-ORG", "O"]),
        (["Peter"], ["B-PER"]),
    ]


def test_no_whitespace_above_u3000():
    """The reader lists the whitespace that is not a column separator up to U+3000 only."""
    assert not any(chr(c).isspace() for c in range(0x3001, sys.maxunicode + 1))


# --------------------------------------------------------------------------- real corpus


@pytest.mark.skipif(not CORPUS.exists(), reason="shared CoNLL-2003 corpus not available")
def test_real_corpus_reads_whole():
    """Every sentence and token of CoNLL-2003 train (its reading speed is measured in benchmarks/, not here)."""
    stats = ReadStats()
    with pytest.warns(ConllRepairWarning):  # the file holds a few stray I- tags
        n = sum(1 for _ in read_conll(CORPUS, stats=stats))
    assert n == stats.sentences == 14_041 and stats.tokens == 203_621 and stats.scheme == "bio2"


def test_text_lines_end_where_text_mode_ends_them(tmp_path):
    """windowner tag's plain-text reader: lines end at LF, CRLF or CR (as open(newline="") reads them), a leading
    BOM is dropped, and the first bad byte is reported on its own line, a lone CR counting as a line end."""
    from windowner.text.lines import text_lines

    data = "\ufeffa\r\nb\rc\n\nd \u00e9\t\x0be\r".encode()
    p = tmp_path / "t.txt"
    p.write_bytes(data)
    with open(p, encoding="utf-8-sig", newline="") as f:
        expected = [line.rstrip("\r\n") for line in f]
    assert list(text_lines(p)) == expected == ["a", "b", "c", "", "d \u00e9\t\x0be"]
    p.write_bytes(b"ok\r\nfine\rZ\xfcrich\n")
    with pytest.raises(DataError) as exc:
        list(text_lines(p))
    assert str(exc.value) == f"{p}:3: not valid UTF-8 (byte 0xfc at byte offset 1); save the file as UTF-8"
