"""The training loop as a generator over epochs (windowner.model.loop), and the run facts (model.run, run.json)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from windowner.errors import ModelError
from windowner.model.config import TrainConfig
from windowner.model.files import load_model, save_model
from windowner.model.loop import (
    BestWeights,
    EarlyStopping,
    PolyakAverage,
    TrainingDiverged,
    epoch_line,
    train_while_improving,
)
from windowner.model.run import TrainingRun
from windowner.model.training import fit, initialize, tag_set, training_windows

SMALL = dict(hidden=8, batch_size=32, lr=0.1, seed=0, vectors="none", calibration="none")


def _start(pairs, **changes):
    """(model, windows, cfg, rng) as fit starts a run: the same seed for initialize and the loop."""
    cfg = TrainConfig(**{**SMALL, **changes}).validate()
    rng = np.random.default_rng(cfg.seed)
    model = initialize(pairs, tag_set((g for _, g in pairs), None), cfg, rng)
    return model, training_windows(model, pairs, cfg), cfg, rng


def test_the_generator_yields_one_result_per_epoch(tiny_corpus):
    pairs = tiny_corpus["train"][:120]
    model, windows, cfg, rng = _start(pairs, epochs=3)
    results = list(train_while_improving(model, windows, cfg, rng))
    assert [r.epoch for r in results] == [1, 2, 3]
    assert [r.record for r in results] == model.history
    assert all(set(r.record) == {"epoch", "loss", "seconds", "lr"} for r in results)
    assert results[0].improved and results[0].best is results[-1].best
    best = max(range(3), key=lambda i: (-results[i].record["loss"], -i))  # without dev: the lowest loss
    assert model.run.best_epoch == best + 1 and model.run.best_is_average is False


def test_the_caller_decides_when_to_stop_and_the_generator_equals_fit(tiny_corpus):
    """Leaving the loop after two epochs; driven to the end with the best weights restored, it is fit()."""
    pairs = tiny_corpus["train"][:120]
    model, windows, cfg, rng = _start(pairs, epochs=3)
    for result in train_while_improving(model, windows, cfg, rng):
        if result.epoch == 2:
            break
    assert len(model.history) == 2

    model, windows, cfg, rng = _start(pairs, epochs=3)
    results = list(train_while_improving(model, windows, cfg, rng))
    results[-1].best.restore(model)
    fitted = fit(pairs, None, cfg, progress=False, log=None)
    assert fitted.run.best_epoch == model.run.best_epoch
    for name, arr in fitted.weights().items():
        np.testing.assert_array_equal(arr, model.weights()[name])


def test_with_dev_each_epoch_is_scored_and_the_average_kept_from_average_from_on(tiny_corpus):
    pairs, dev = tiny_corpus["train"][:120], tiny_corpus["dev"][:40]
    model, windows, cfg, rng = _start(pairs, epochs=3, average_from=2)
    records = [r.record for r in train_while_improving(model, windows, cfg, rng, dev)]
    assert all(0 <= r["dev_f1"] <= 1 for r in records)
    assert [bool(r.get("averaged")) for r in records] == [False, True, True]
    assert records[1]["dev_f1_average"] == records[1]["dev_f1"]
    assert model.run.best_is_average == (model.run.best_epoch > 1)


def test_early_stopping_after_patience_epochs_without_improvement(tiny_corpus):
    lines = []
    model = fit(
        tiny_corpus["train"][:120],
        tiny_corpus["dev"][:40],
        TrainConfig(**{**SMALL, "epochs": 30, "patience": 1, "lr": 0.5}),
        progress=False,
        log=lines.append,
    )
    stopped = len(model.history)
    assert stopped < 30 and lines[-1] == "no dev improvement for 1 epochs: stopping"
    f1 = [r["dev_f1"] for r in model.history]
    assert f1[-1] <= max(f1[:-1]) and stopped == model.run.best_epoch + 1
    assert lines[:stopped] == [epoch_line(r) for r in model.history]


def test_steps():
    stop = EarlyStopping(2)
    assert [stop(i) for i in (True, False, True, False, False)] == [False, False, False, False, True]

    avg = PolyakAverage(start=3)
    assert not avg.covers(2) and avg.covers(3)
    for v in (1.0, 2.0, 6.0):
        avg.add({"w": np.full(2, v, dtype=np.float32)})
    assert avg.mean is not None and avg.mean["w"].dtype == np.float64 and np.allclose(avg.mean["w"], 3.0)

    best = BestWeights()
    assert best.score == -math.inf and best.weights is None

    assert TrainingDiverged("the loss became nan").model is None


def test_an_interrupt_returns_the_best_model_and_says_so(tiny_corpus):
    def on_epoch(model, record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    model = fit(
        tiny_corpus["train"][:120],
        None,
        TrainConfig(**{**SMALL, "epochs": 5}),
        progress=False,
        log=None,
        on_epoch=on_epoch,
    )
    assert model.run.interrupted and len(model.history) == 2 and model.run.best_epoch in (1, 2)
    assert not model._sole_user  # training's exclusive use ended with it


def test_divergence_carries_the_best_model_with_its_run(monkeypatch, tiny_corpus):
    from windowner.nn.network import WindowNetwork

    original, calls = WindowNetwork.loss_and_grads, [0]

    def diverging(self, *a, **kw):
        J, grads = original(self, *a, **kw)
        calls[0] += 1
        return (math.inf if calls[0] > 10 else J), grads

    monkeypatch.setattr(WindowNetwork, "loss_and_grads", diverging)
    with pytest.raises(TrainingDiverged, match="the loss became inf") as exc:
        fit(
            tiny_corpus["train"][:120],
            None,
            TrainConfig(**{**SMALL, "epochs": 5, "batch_size": 128}),
            progress=False,
            log=None,
        )
    model = exc.value.model
    assert model is not None and model.run.best_epoch == len(model.history) >= 1
    assert model.run.train_seconds is not None and not model.run.interrupted


# -- run facts ------------------------------------------------------------------------------------------------


def test_run_facts_round_trip_through_save_and_load(tiny_corpus, tmp_path):
    model = fit(tiny_corpus["train"][:120], None, TrainConfig(**{**SMALL, "epochs": 2}), progress=False, log=None)
    run = model.run
    assert run.best_epoch in (1, 2) and run.train_seconds is not None and run.train_seconds >= 0
    assert not run.calibrated and "--calibration none" in run.calibration_note
    model.run.interrupted = True
    d = save_model(model, tmp_path / "m")
    assert json.loads((d / "run.json").read_text(encoding="utf-8")) == model.run.to_dict()
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    assert not {"best_epoch", "best_is_average", "train_seconds", "interrupted", "calibrated"} & set(config)
    loaded = load_model(d)
    assert loaded.run == model.run and loaded.history == model.history
    assert "best_epoch" not in loaded.config


def test_a_directory_from_before_run_json_reads_the_facts_from_config_json(tiny_model_dir, tmp_path):
    import shutil

    d = shutil.copytree(tiny_model_dir, tmp_path / "old")
    run = json.loads((d / "run.json").read_text(encoding="utf-8"))
    (d / "run.json").unlink()
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    config.update(best_epoch=3, best_is_average=True, train_seconds=1.5, calibrated=True)
    (d / "config.json").write_text(json.dumps(config), encoding="utf-8")
    old = load_model(d)
    assert old.run == TrainingRun(best_epoch=3, best_is_average=True, train_seconds=1.5, calibrated=True)
    assert old.run.calibrated == run["calibrated"] is True
    assert "best_epoch" not in old.config and "train_seconds" not in old.config
    again = save_model(old, tmp_path / "again")
    assert "best_epoch" not in json.loads((again / "config.json").read_text(encoding="utf-8"))
    assert json.loads((again / "run.json").read_text(encoding="utf-8"))["best_epoch"] == 3


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('{"best_epoch": "3"}', "'best_epoch' is '3'"),
        ('{"interrupted": 1}', "'interrupted' is 1"),
        ("[]", "expected a JSON object"),
        ("{", "not valid JSON"),
    ],
)
def test_a_broken_run_json_is_a_model_error_naming_it(tiny_model_dir, tmp_path, content, fragment):
    import shutil

    d = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (d / "run.json").write_text(content, encoding="utf-8")
    with pytest.raises(ModelError, match=r"run\.json") as exc:
        load_model(d)
    assert fragment in str(exc.value)


def test_unknown_run_facts_of_a_newer_windowner_are_ignored():
    assert TrainingRun.from_dict({"best_epoch": 2, "future_fact": 1}) == TrainingRun(best_epoch=2)
