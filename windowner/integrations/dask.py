"""Tag large collections on Dask with the same model, loaded once per worker process.

>>> import dask.bag as db
>>> from windowner.integrations.dask import tag_texts
>>> ents = tag_texts(db.read_text("news/*.txt").map(str.rstrip), "model/")   # a Bag of entity dicts
>>> ents.take(3)

Works with any Dask scheduler; on a ``distributed`` cluster each worker process loads the model once.
Needs the optional extra: ``pip install 'windowner[dask]'``. The model directory must be readable at the
same path on every worker (a shared filesystem on a real cluster). Importing this module does not import
Dask; the functions that build Dask collections or talk to a cluster do.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import WindownerError

ENTITY_COLUMNS = ("doc_id", "start_char", "end_char", "label", "text", "score")
INSTALL_HINT = "pip install 'windowner[dask]'"


class DaskNotInstalled(WindownerError, ImportError):
    """Dask (the optional extra ``windowner[dask]``) is needed but missing."""


def require_dask(what: str = "windowner.integrations.dask", distributed: bool = True) -> None:
    """Raise :class:`DaskNotInstalled` with the install command unless dask (and distributed) import."""
    try:
        import dask  # noqa: F401

        if distributed:
            import distributed as _  # noqa: F401
    except ImportError as exc:
        raise DaskNotInstalled(
            f"{what} needs Dask, which is not installed ({exc}); install it with `{INSTALL_HINT}`"
        ) from None


# -- the worker side: one tagger per worker process ---------------------------------------------------

_CACHE: dict[str, tuple[tuple, Any]] = {}  # resolved path -> (stamp, tagger)
_CACHE_LOCK = threading.Lock()
_LOADS: dict[str, int] = {}


def _stamp(path: Path) -> tuple:
    """Modification times of the model files: a model rewritten in place (``to_disk``) is reloaded."""
    from ..model.files import MODEL_FILES

    stamp: list[int | None] = []
    for name in MODEL_FILES:
        try:
            stamp.append(os.stat(path / name).st_mtime_ns)
        except OSError:
            stamp.append(None)
    return tuple(stamp)


@contextmanager
def worker_tagger(model_dir: str | os.PathLike) -> Iterator:
    """The process-wide :class:`~windowner.tagger.Tagger` for ``model_dir`` (thread-safe: worker threads share it).

    Loaded on first use in each process (a Dask worker) and kept, keyed by path and file mtimes.
    """
    from ..tagger import Tagger

    path = Path(model_dir).resolve()
    key, stamp = str(path), _stamp(path)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is None or entry[0] != stamp:
            entry = _CACHE[key] = (stamp, Tagger.from_disk(path))
            _LOADS[key] = _LOADS.get(key, 0) + 1
    yield entry[1]


def cache_info() -> dict[str, int]:
    """Model loads in this process so far, by resolved model path (run it on workers with ``client.run``)."""
    return dict(_LOADS)


def entity_records(texts: list[str], doc_ids: list, model_dir: str, batch_size: int = 1000) -> dict[str, list]:
    """Tag ``texts`` with the worker's model -> columns ``ENTITY_COLUMNS``, one row per entity."""
    cols: dict[str, list] = {c: [] for c in ENTITY_COLUMNS}
    with worker_tagger(model_dir) as tagger:
        docs = list(tagger.pipe(texts, batch_size=batch_size))
    for doc_id, doc in zip(doc_ids, docs):
        for e in doc.ents:
            for c, v in zip(ENTITY_COLUMNS, (doc_id, e.start_char, e.end_char, e.label, e.text, e.score)):
                cols[c].append(v)
    return cols


def _tag_bag_partition(texts: Iterable[str], model_dir: str, batch_size: int) -> list:
    texts = list(texts)
    return [(len(texts), entity_records(texts, list(range(len(texts))), model_dir, batch_size))]


def _partition_count(part) -> list[int]:
    ((n, _),) = part
    return [n]


def _partition_offsets(counts: Iterable[int]) -> list[int]:
    """Number of texts before each partition."""
    offsets, total = [], 0
    for n in counts:
        offsets.append(total)
        total += n
    return offsets


def _bag_rows(part: list, index: list[int], offsets: list[int]) -> list[dict]:
    """Local doc numbers -> global positions; columns -> one dict per entity."""
    ((_, cols),) = part
    offset = offsets[index[0]]
    rows = [dict(zip(ENTITY_COLUMNS, values)) for values in zip(*(cols[c] for c in ENTITY_COLUMNS))]
    for r in rows:
        r["doc_id"] += offset
    return rows


def _entity_frame(cols: dict[str, list], id_dtype):
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {
            "doc_id": pd.Series(cols["doc_id"], dtype=id_dtype),
            "start_char": np.asarray(cols["start_char"], dtype=np.int64),
            "end_char": np.asarray(cols["end_char"], dtype=np.int64),
            "label": pd.Series(cols["label"], dtype=object),
            "text": pd.Series(cols["text"], dtype=object),
            "score": np.asarray(cols["score"], dtype=np.float64),
        }
    )


def _tag_series_partition(texts, model_dir: str, batch_size: int, id_dtype):
    return _entity_frame(entity_records(list(texts), list(texts.index), model_dir, batch_size), id_dtype)


def _tag_frame_partition(df, text_column: str, id_column: str | None, model_dir: str, batch_size: int, id_dtype):
    ids = list(df.index if id_column is None else df[id_column])
    return _entity_frame(entity_records(list(df[text_column]), ids, model_dir, batch_size), id_dtype)


# -- the client side: collections ---------------------------------------------------------------------


def _model_path(model_dir: str | os.PathLike) -> str:
    return str(Path(model_dir).resolve())


def _meta(id_dtype):
    return _entity_frame({c: [] for c in ENTITY_COLUMNS}, id_dtype)


def tag_texts(texts, model_dir: str | os.PathLike, batch_size: int = 1000):
    """Tag a Dask collection of texts (one document per element).

    ``texts``: a ``dask.bag.Bag`` of str -> a Bag of entity dicts with keys ``ENTITY_COLUMNS``, ``doc_id``
    being the text's position in the bag (``.to_dataframe()`` makes it a frame); or a
    ``dask.dataframe.Series`` of str -> a Dask DataFrame with columns ``ENTITY_COLUMNS``, ``doc_id``
    taken from the series index. Lazy: call ``.compute()`` or write it out. ``batch_size``: texts per
    model call inside a partition.
    """
    require_dask("windowner.integrations.dask.tag_texts", distributed=False)
    import dask
    import dask.bag as db

    model = _model_path(model_dir)
    if isinstance(texts, db.Bag):
        tagged = texts.map_partitions(_tag_bag_partition, model, batch_size)
        # positions need every earlier partition's length: take it from the tagged results (small), so
        # that the texts are read once
        offsets = dask.delayed(_partition_offsets)(tagged.map_partitions(_partition_count))
        index = db.range(texts.npartitions, npartitions=texts.npartitions)
        return tagged.map_partitions(_bag_rows, index, offsets)
    if _is_dask_series(texts):
        id_dtype = texts._meta.index.dtype
        return texts.map_partitions(_tag_series_partition, model, batch_size, id_dtype, meta=_meta(id_dtype))
    raise TypeError(
        f"tag_texts takes a dask.bag.Bag or dask.dataframe.Series of str, got {type(texts).__name__}; "
        "for a frame use tag_dataframe(ddf, text_column, model_dir)"
    )


def tag_dataframe(
    ddf, text_column: str, model_dir: str | os.PathLike, batch_size: int = 1000, id_column: str | None = None
):
    """Tag column ``text_column`` of a Dask DataFrame -> a Dask DataFrame with columns ``ENTITY_COLUMNS``.

    ``doc_id`` is the value of ``id_column``, or of the frame's index if None. Note that ``dd.read_csv``
    and ``dd.read_parquet`` may restart the index in each partition: give a document id column then.
    """
    require_dask("windowner.integrations.dask.tag_dataframe", distributed=False)
    if not hasattr(ddf, "map_partitions") or not hasattr(ddf, "columns"):
        raise TypeError(f"tag_dataframe takes a dask.dataframe.DataFrame, got {type(ddf).__name__}")
    for name, col in (("text_column", text_column), ("id_column", id_column)):
        if col is not None and col not in ddf.columns:
            raise KeyError(f"{name} {col!r} is not a column of the frame; columns: {', '.join(map(str, ddf.columns))}")
    id_dtype = ddf._meta.index.dtype if id_column is None else ddf._meta[id_column].dtype
    return ddf.map_partitions(
        _tag_frame_partition, text_column, id_column, _model_path(model_dir), batch_size, id_dtype, meta=_meta(id_dtype)
    )


def _is_dask_series(obj) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # dask.dataframe needs pandas
        return False
    return isinstance(obj, dd.Series)


# -- the client side: ordered streaming over a cluster -----------------------------------------------


def map_ordered(client, fn: Callable, tasks: Iterable[tuple], max_in_flight: int | None = None) -> Iterator:
    """``fn(*args)`` on the cluster for each ``args`` in ``tasks``, results yielded in input order.

    At most ``max_in_flight`` tasks are submitted and not yet yielded (default: twice the cluster's
    threads, plus one), so memory stays bounded on endless inputs. Tasks lost with a dying worker are
    rerun by Dask; each result is yielded exactly once. If reading ``tasks`` fails, the results of the
    tasks submitted before are still yielded, then the error is raised.
    """
    if max_in_flight is None:
        max_in_flight = 2 * max(1, sum(client.nthreads().values())) + 1
    pending: deque = deque()
    tasks = iter(tasks)
    try:
        while True:
            try:
                args = next(tasks)
            except StopIteration:
                break
            except Exception:
                while pending:
                    yield pending.popleft().result()
                raise
            pending.append(client.submit(fn, *args, pure=False))
            if len(pending) >= max_in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


@contextmanager
def connect(
    workers: int | None = None, scheduler: str | None = None, timeout: str = "10s", **cluster_kwargs
) -> Iterator:
    """A ``distributed.Client``: on the scheduler at ``scheduler``, or on a new LocalCluster of
    ``workers`` processes (one thread each, loopback only, no dashboard), closed on exit.
    ``cluster_kwargs`` override the LocalCluster's arguments."""
    require_dask("windowner on a Dask cluster")
    import logging

    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise WindownerError(
                f"cannot connect to the Dask scheduler at {scheduler!r} ({type(exc).__name__}: "
                f"{exc}); check the address, e.g. tcp://host:8786, and that the scheduler runs"
            ) from None
        with client:
            yield client
        return
    if workers is None or workers < 1:
        raise WindownerError(f"need at least one worker, got {workers}")
    kwargs: dict[str, Any] = dict(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    kwargs.update(cluster_kwargs)
    # even without a dashboard the scheduler serves a small HTTP API (/health), by default on port 8787:
    # keep it on the cluster's host, on a free port
    kwargs.setdefault("scheduler_kwargs", {}).setdefault("dashboard_address", f"{kwargs['host']}:0")
    with LocalCluster(**kwargs) as cluster, Client(cluster) as client:
        yield client
