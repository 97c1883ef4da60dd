"""What happened in a training run, apart from the hyper-parameters that asked for it.

:class:`TrainConfig` (``config.json``) says what a run was asked to do; :class:`TrainingRun` (``run.json``)
says what it did: which epoch was kept and whether it is the running average, how long training took,
whether it was interrupted, whether the scores are calibrated and, if not, why. Model directories written
before ``run.json`` existed kept these facts in ``config.json``; :meth:`TrainingRun.from_config` reads
them from there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

RUN_FILE = "run.json"


@dataclass
class TrainingRun:
    """The facts of one training run (saved as ``run.json`` in the model directory).

    ``best_epoch``: the epoch (1-based) whose weights the model has (None: not trained by windowner, or no
    epoch finished); ``best_is_average``: they are the running (Polyak) average of the epoch-end weights up to
    it; ``interrupted``: training was stopped by Ctrl-C (the best epoch so far was kept); ``train_seconds``:
    wall-clock time of :func:`~windowner.model.training.fit`; ``calibrated``: the model has calibration maps,
    and ``calibration_note`` says why not when it has none.
    """

    best_epoch: int | None = None
    best_is_average: bool = False
    interrupted: bool = False
    train_seconds: float | None = None
    calibrated: bool = False
    calibration_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The facts as a JSON object."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TrainingRun:
        """The run of a ``run.json`` object; keys it does not know (a newer windowner's) are ignored.
        ValueError names a fact of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found a {type(data).__name__}")
        run = cls()
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if not _valid(f.name, value):
                raise ValueError(f"{f.name!r} is {value!r}, not {_KINDS[f.name]}")
            setattr(run, f.name, float(value) if f.name == "train_seconds" and value is not None else value)
        return run

    @classmethod
    def from_config(cls, config: dict) -> TrainingRun:
        """The run facts that model directories written before ``run.json`` kept in ``config.json``, removed
        from ``config`` (so that it holds hyper-parameters only); facts of the wrong type are dropped."""
        found = {name: config.pop(name) for name in RUN_FACTS if name in config}
        return cls.from_dict({k: v for k, v in found.items() if _valid(k, v)})


RUN_FACTS = tuple(f.name for f in fields(TrainingRun))

_KINDS = {
    "best_epoch": "a positive int or null",
    "best_is_average": "true or false",
    "interrupted": "true or false",
    "train_seconds": "a number ≥ 0 or null",
    "calibrated": "true or false",
    "calibration_note": "a string or null",
}


def _valid(name: str, value: Any) -> bool:
    if name in ("best_is_average", "interrupted", "calibrated"):
        return isinstance(value, bool)
    if value is None:
        return True
    if name == "best_epoch":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if name == "train_seconds":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    return isinstance(value, str)
