"""Tagging on Dask (optional extra): same output as one process, one model load per worker, worker deaths.

The cluster is a LocalCluster of 2 worker processes on 127.0.0.1 without a dashboard.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from windowner.cli import main

from conftest import make_corpus, write_conll

pytest.importorskip("distributed", reason="needs the optional extra: pip install 'windowner[dask]'")

from windowner.integrations.dask import ENTITY_COLUMNS, DaskNotInstalled, cache_info, connect, require_dask, tag_texts

N_TEXTS = 3000


@pytest.fixture(scope="module")
def client():
    with connect(workers=2) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


@pytest.fixture(scope="module")
def texts() -> list[str]:
    lines = [" ".join(tokens) for tokens, _ in make_corpus(N_TEXTS, 21)]
    lines[10:10] = ["", "Kofi Mensah flew from Lagos to Oslo on Monday. Amara Osei stayed in Lima.", "   "]
    return lines


@pytest.fixture(scope="module")
def text_file(tmp_path_factory, texts) -> Path:
    path = tmp_path_factory.mktemp("dask") / "news.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def _tag(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_core_imports_do_not_import_dask():
    code = (
        "import sys, windowner, windowner.cli, windowner.integrations.dask; windowner.cli.build_parser(); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_missing_dask_says_how_to_install(monkeypatch, tiny_model_dir, text_file, capsys):
    monkeypatch.setitem(sys.modules, "dask", None)  # makes `import dask` fail
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DaskNotInstalled, match=r"pip install 'windowner\[dask\]'"):
        require_dask()
    with pytest.raises(ImportError, match=r"windowner\.integrations\.dask\.tag_texts needs Dask"):
        tag_texts(["Obama visited Paris."], tiny_model_dir)
    code, out, err = _tag(["tag", str(tiny_model_dir), str(text_file), "--workers", "2"], capsys)
    assert code == 2 and out == ""
    assert "pip install 'windowner[dask]'" in err


def test_worker_tagger_loads_once_and_reloads_a_rewritten_model(tmp_path, tiny_model_dir):
    from windowner.integrations.dask import worker_tagger
    from windowner.model.files import load_model, save_model

    model = shutil.copytree(tiny_model_dir, tmp_path / "m")
    key = str(model.resolve())
    loads = cache_info().get(key, 0)
    for _ in range(3):
        with worker_tagger(model) as tagger:
            first = tagger
    assert cache_info()[key] == loads + 1
    save_model(load_model(model), model)  # rewritten in place: new files, new mtimes
    os.utime(model / "weights.npz", ns=(0, 10**18))  # in case the clock did not tick between the writes
    with worker_tagger(model) as tagger:
        assert tagger is not first
    assert cache_info()[key] == loads + 2


def test_tag_texts_bag_matches_single_process(client, texts, tiny_tagger, tiny_model_dir):
    import dask.bag as db

    expected = [
        (i, e.start_char, e.end_char, e.label, e.text, e.score)
        for i, doc in enumerate(tiny_tagger.pipe(texts))
        for e in doc.ents
    ]
    rows = tag_texts(db.from_sequence(texts, npartitions=7), tiny_model_dir, batch_size=200).compute()
    got = [tuple(r[c] for c in ENTITY_COLUMNS) for r in rows]
    assert len(got) == len(expected) > N_TEXTS
    assert [g[:5] for g in got] == [e[:5] for e in expected]
    # different batches round float32 sums differently: scores agree to float32 precision
    assert max(abs(g[5] - e[5]) for g, e in zip(got, expected)) < 1e-5
    loads = client.run(cache_info)
    key = str(Path(tiny_model_dir).resolve())
    assert len(loads) == 2 and all(v.get(key) == 1 for v in loads.values()), loads  # once per worker, not per partition


def test_tag_dataframe_and_series(client, texts, tiny_tagger, tiny_model_dir):
    pytest.importorskip("dask.dataframe", reason="dask.dataframe needs pandas")
    import dask.dataframe as dd
    import pandas as pd

    from windowner.integrations.dask import tag_dataframe

    sub = texts[:500]
    expected = [
        (1000 + i, e.start_char, e.end_char, e.label, e.text)
        for i, doc in enumerate(tiny_tagger.pipe(sub))
        for e in doc.ents
    ]
    frame = pd.DataFrame({"article": [1000 + i for i in range(len(sub))], "body": sub})
    ddf = dd.from_pandas(frame, npartitions=3)
    by_column = tag_dataframe(ddf, "body", tiny_model_dir, id_column="article").compute()
    by_index = tag_texts(ddf.set_index("article")["body"], tiny_model_dir).compute()
    for result in (by_column, by_index):
        assert list(result.columns) == list(ENTITY_COLUMNS)
        assert list(zip(*(result[c] for c in ENTITY_COLUMNS[:5]))) == expected
    with pytest.raises(KeyError, match="'text'"):
        tag_dataframe(ddf, "text", tiny_model_dir)


def test_tag_texts_rejects_plain_lists(tiny_model_dir):
    with pytest.raises(TypeError, match=r"dask\.bag\.Bag"):
        tag_texts(["Obama visited Paris."], tiny_model_dir)


def test_cli_workers_output_equals_single_process(tmp_path, tiny_model_dir, texts, capsys):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(texts[:1700]) + "\n", encoding="utf-8")
    b.write_text("\n".join(texts[1700:]), encoding="utf-8")
    argv = ["tag", str(tiny_model_dir), str(a), str(b), "--batch-size", "150"]
    code, single, _ = _tag(argv, capsys)
    assert code == 0 and single.count("\n") == len(texts)
    code, parallel, _ = _tag(argv + ["--workers", "2"], capsys)
    assert code == 0
    assert parallel == single


@pytest.mark.parametrize("fmt", ["json", "spans"])
def test_cli_scheduler_conll_output_equals_single_process(client, tmp_path, tiny_model_dir, fmt, capsys):
    conll = write_conll(make_corpus(1200, 22), tmp_path / "in.conll")
    argv = ["tag", str(tiny_model_dir), str(conll), "--input-format", "conll", "--format", fmt, "--batch-size", "100"]
    code, single, _ = _tag(argv, capsys)
    assert code == 0 and single
    code, parallel, _ = _tag(argv + ["--scheduler", client.scheduler.address], capsys)
    assert code == 0
    assert parallel == single


def test_cli_bad_line_writes_the_same_prefix_then_fails(client, tmp_path, tiny_model_dir, texts, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(texts[:1234]) + "\nbinary\x00junk\n" + "\n".join(texts[:100]), encoding="utf-8")
    argv = ["tag", str(tiny_model_dir), str(bad), "--batch-size", "100", "--format", "spans"]
    code, single, err = _tag(argv, capsys)
    assert code == 2 and f"{bad}:1235:" in err
    code, parallel, err = _tag(argv + ["--scheduler", client.scheduler.address], capsys)
    assert code == 2 and f"{bad}:1235:" in err
    assert parallel == single and single.startswith("0\t")


def test_cli_errors_before_starting_a_cluster(tmp_path, text_file, capsys):
    code, _, err = _tag(["tag", "--model", str(tmp_path / "nowhere"), str(text_file), "--workers", "2"], capsys)
    assert code == 2 and "not a model directory" in err
    code, _, err = _tag(
        ["tag", "--model", str(tmp_path), str(text_file), "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"],
        capsys,
    )
    assert code == 2 and "not both" in err


def test_killed_worker_loses_and_duplicates_nothing(client, tiny_model_dir, text_file, tmp_path, capsys):
    """One worker is made to hold its first task until it is killed, so the kill hits running work by
    construction (no timing): the task must be rerun elsewhere, and the output is still exactly one process's.
    Last in this file: it leaves the cluster with a restarted worker."""
    argv = ["tag", str(tiny_model_dir), str(text_file), "--batch-size", "60"]
    code, single, _ = _tag(argv, capsys)
    assert code == 0
    victim, pid = sorted(client.run(os.getpid).items())[0]
    busy = tmp_path / "victim-holds-a-task"
    client.run(_hold_tasks_until_killed, str(busy), workers=[victim])
    killed = threading.Event()

    def kill_when_busy() -> None:
        for _ in range(6000):  # up to 60 s for the scheduler to give the victim a task
            if busy.exists():
                os.kill(pid, signal.SIGKILL)
                killed.set()
                return
            threading.Event().wait(0.01)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    code, parallel, _ = _tag(argv + ["--scheduler", client.scheduler.address], capsys)
    killer.join()
    assert killed.is_set() and code == 0
    assert parallel == single
    ids = [json.loads(line)["id"] for line in parallel.splitlines()]
    assert ids == list(range(len(ids)))
    # the victim's task went back from processing when the worker was removed, and ran again
    assert client.run_on_scheduler(_tasks_taken_from_dead_workers) > 0
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed process
    assert pid not in set(client.run(os.getpid).values())


def _hold_tasks_until_killed(flag: str) -> None:
    """In one worker process: every tagging task says it has started (creates ``flag``), then never returns.
    A restarted worker is a new process, without this."""
    import threading
    from pathlib import Path

    import windowner.cli.tag as tag

    def hold(*args, **kwargs):
        Path(flag).touch()
        threading.Event().wait()

    tag._format_batch_on_worker = hold


def _tasks_taken_from_dead_workers(dask_scheduler) -> int:
    return sum(
        1
        for key, start, finish, *_, stimulus, _ in dask_scheduler.transition_log
        if "format_batch_on_worker" in str(key)
        and start == "processing"
        and finish != "memory"
        and str(stimulus).startswith(("handle-worker-cleanup", "remove-worker"))
    )
