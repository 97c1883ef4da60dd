import numpy as np
import pytest

from windowner.nn.embeddings import sum_rows
from windowner.nn.gradcheck import TOLERANCE, check_network, run_all
from windowner.nn.network import ACTIVATIONS, HEADS, Linear, ShapeError, WindowNetwork, check_shape
from windowner.nn.optim import fit_dense


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("head", sorted(HEADS))
def test_every_gradient_matches_finite_differences(activation, head):
    errors = check_network(activation, head)
    assert set(errors) == {"W", "b", "U", "X"}
    for name, err in errors.items():
        assert err < TOLERANCE, f"{activation}/{head}: d{name} rel. error {err:.2e}"


def test_gradcheck_command_json(capsys):
    import json

    from windowner.cli import main

    assert main(["gradcheck", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["max_rel_error"] < 1e-6
    # W, b, U, X; the same through dropout and with weighted windows; every embedding table: word, case, suffix,
    # prefix, shape, gazetteer, cluster, character n-grams, Brown clusters, gazetteer-list matches (the last three
    # bags of ids per position)
    assert len(out["checks"]) == len(ACTIVATIONS) * len(HEADS) * (4 + 4 + 4 + 10)
    assert {c["param"] for c in out["checks"]} == {
        "W",
        "b",
        "U",
        "X",
        "E",
        "C",
        "F",
        "P",
        "S",
        "G",
        "K",
        "N",
        "B",
        "M",
        "W (dropout)",
        "b (dropout)",
        "U (dropout)",
        "X (dropout)",
        "W (weighted windows)",
        "b (weighted windows)",
        "U (weighted windows)",
        "X (weighted windows)",
    }


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    # A deliberately wrong derivative must be caught by the checker (the check can fail).
    from windowner.nn import network

    broken = network.ActivationFn(np.tanh, lambda z, h: 1.0 - h, gain=1.0)  # forgot the square
    monkeypatch.setitem(network.ACTIVATIONS, "tanh", broken)
    assert check_network("tanh", "sigmoid")["W"] > 1e-3
    assert run_all()["max_rel_error"] > TOLERANCE


@pytest.mark.parametrize("n_rows", [9, 2_000, 70_000])
def test_sum_rows_sums_the_rows_of_each_id(n_rows):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, n_rows, 1_000) if n_rows > 9 else rng.integers(0, n_rows, 40)
    ids[:30] = ids[0]  # a large group besides singletons and small ones
    part = rng.normal(size=(len(ids), 5)).astype(np.float32)
    rows, sums = sum_rows(ids, part, n_rows)
    want = np.zeros((n_rows, 5))
    np.add.at(want, ids, part.astype(np.float64))
    assert np.array_equal(rows, np.unique(ids))
    np.testing.assert_allclose(sums, want[rows], rtol=1e-5, atol=1e-5)
    # without the row count (no uint16 sort keys), the same sums to the bit
    assert np.array_equal(sum_rows(ids, part)[1], sums)


def test_gradients_have_their_parameters_shapes():
    net = WindowNetwork(12, 5, 3, random_state=0, dtype=np.float64)
    X = np.random.default_rng(0).normal(size=(4, 12))
    _, grads = net.loss_and_grads(X, np.eye(3)[[0, 1, 2, 0]])
    for name, p in net.params.items():
        assert grads[name].shape == p.shape
    assert grads["X"].shape == X.shape


def test_wrong_gradient_shape_is_caught():
    W = np.zeros((5, 12))
    with pytest.raises(ShapeError, match=r"dW has shape \(12, 5\), but W has shape \(5, 12\)"):
        check_shape(W.T, W, "W")

    class TransposedLinear(Linear):  # the classic slip: Xᵀδ instead of δᵀX
        def backward(self, delta, need_dX=True):
            return {"W": check_shape(self.X.T @ delta, self.params[self.W], "W")}

    net = WindowNetwork(12, 5, 3, random_state=0)
    net.hidden = TransposedLinear(net.params, "W", "b")
    X = np.ones((4, 12), dtype=np.float32)
    with pytest.raises(ShapeError):
        net.loss_and_grads(X, np.zeros((4, 3), dtype=np.float32))


def _blobs(n=200, D=6, C=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (C, D))
    y = rng.integers(0, C, n)
    X = centers[y] + rng.normal(0, 0.5, (n, D))
    return X.astype(np.float32), y


@pytest.mark.parametrize("head", sorted(HEADS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_sgd_fits_a_separable_problem(activation, head):
    X, y = _blobs()
    Y = np.eye(3, dtype=np.float32)[y]
    net = WindowNetwork(X.shape[1], 16, 3, activation=activation, head=head, random_state=1)
    fit_dense(net, X, Y, epochs=60, batch_size=16, lr=0.5 if head == "sigmoid" else 0.2, momentum=0.5)
    assert (net.proba(X).argmax(1) == y).mean() == 1.0


@pytest.mark.parametrize("head", sorted(HEADS))
def test_loss_decreases_monotonically_with_a_small_learning_rate(head):
    X, y = _blobs(n=64)
    Y = np.eye(3, dtype=np.float32)[y]
    net = WindowNetwork(X.shape[1], 8, 3, head=head, random_state=0)
    losses = fit_dense(net, X, Y, epochs=20, batch_size=len(X), lr=0.01, random_state=None)
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_identical_seeds_give_identical_weights():
    X, y = _blobs(n=50)
    Y = np.eye(3, dtype=np.float32)[y]
    nets = []
    for _ in range(2):
        net = WindowNetwork(6, 8, 3, dropout=0.2, random_state=7)
        fit_dense(net, X, Y, epochs=3, random_state=7)
        nets.append(net)
    for name in nets[0].params:
        assert np.array_equal(nets[0].params[name], nets[1].params[name])
    other = WindowNetwork(6, 8, 3, random_state=8)
    assert not np.array_equal(other.params["W"], nets[0].params["W"])


def test_bad_hyper_parameters_are_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        WindowNetwork(4, 3, 2, activation="swish")
    with pytest.raises(ValueError, match="unknown head"):
        WindowNetwork(4, 3, 2, head="crf")


@pytest.mark.parametrize("head", sorted(HEADS))
def test_a_window_of_weight_2_counts_as_that_window_twice(head):
    """Weighted windows (training's o_window_keep): J and every gradient equal those of the batch with the
    weight-2 window repeated, rescaled from its 4 rows to the weighted batch's 3."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 6))
    Y = np.eye(3)[[0, 2, 1]]
    net = WindowNetwork(6, 5, 3, head=head, random_state=1, dtype=np.float64)
    J, grads = net.loss_and_grads(X, Y, weights=np.array([2.0, 1.0, 1.0]))
    J2, grads2 = net.loss_and_grads(X[[0, 0, 1, 2]], Y[[0, 0, 1, 2]])
    assert pytest.approx(J2 * 4 / 3) == J
    for name in ("W", "b", "U"):
        np.testing.assert_allclose(grads[name], grads2[name] * 4 / 3, rtol=1e-10)
    dX2 = grads2["X"] * 4 / 3
    np.testing.assert_allclose(grads["X"], np.stack([dX2[0] + dX2[1], dX2[2], dX2[3]]), rtol=1e-10)


def test_easy_windows_are_all_o_within_the_sentence_and_not_capitalised():
    from windowner.model.training import easy_windows

    pairs = [
        ("a b c Kofi d e f g".split(), ["O", "O", "O", "B-PER", "O", "O", "O", "O"]),
        (["x"], ["O"]),
        ([], []),
        (["Mr.", "lee", "Is"], ["O", "O", "O"]),
    ]
    got = easy_windows(pairs, window=2)
    assert got.tolist() == [True, False, False, False, False, False, True, True, True, False, True, False]


def test_sampling_easy_windows_is_deterministic_and_trains():
    import windowner

    from conftest import TINY_HYPER, make_corpus

    train, dev = make_corpus(400, 1), make_corpus(80, 2)
    a, b = (windowner.train(train, dev=dev, o_window_keep=0.5, **TINY_HYPER) for _ in range(2))
    for name, w in a.model.weights().items():
        np.testing.assert_array_equal(w, b.model.weights()[name])
    full = windowner.train(train, dev=dev, **TINY_HYPER)
    assert any(not np.array_equal(w, full.model.weights()[k]) for k, w in a.model.weights().items())
    assert max(r["dev_f1"] for r in a.model.history) > 0.9 * max(r["dev_f1"] for r in full.model.history) > 0.5
