"""Soft decisions: four small problems whose loss depends on a hard decision.

- a learnable branch threshold (``soft_if``), trained with an annealed temperature and
  evaluated with the hard ``if``;
- a tiny differentiable tree search: a two-ply minimax (``soft_max`` of ``soft_min``)
  over leaves scored by learned weights, judged by the hard best move;
- learning to sort: item scores trained through ``soft_permutation`` on a ranking loss,
  judged by the hard order;
- shortest paths on a grid with ``perturbed``: cell costs learned so that the hard
  shortest path matches the true one.

Each reports a held-out metric of the *hard* program; the threshold's accuracy is the
model's ``test_acc``.
"""

from __future__ import annotations

import numpy as np

import gradlab as gl
from gradlab import soft

# Written as a user writes code: gradlab instruments this module (docs/interception.md).
__gradlab_instrument__ = True

NAME = "soft decisions"
EXPECTED = (0.95, 1.0)  # the learned threshold's held-out accuracy
EXPECTED_QUICK = (0.95, 1.0)


def _log(step, loss):
    print(f"[{NAME}] step {step:4d} loss {loss:.6f}", flush=True)


# --- 1. a learnable threshold ---------------------------------------------------------
def threshold_loss(t, x, y, beta):
    pred = soft.soft_if(x - t, 1.0, 0.0, beta=beta)
    return np.mean((pred - y) ** 2)


def learn_threshold(quick):
    rng = np.random.default_rng(0)
    true_t = 0.7
    x_train, x_test = rng.uniform(-2, 2, 400), rng.uniform(-2, 2, 400)
    y_train, y_test = (x_train > true_t) * 1.0, (x_test > true_t) * 1.0
    t = np.array(-1.0)
    gl.check_grads(lambda v: threshold_loss(v, x_train, y_train, 2.0), t, order=2)
    print(f"[{NAME}] gradient check passed", flush=True)
    steps = 60 if quick else 200
    first = None
    for step in range(steps):
        beta = 2.0 * (20.0 ** (step / steps))  # anneal: the surrogate approaches the if
        loss, g = gl.value_and_grad(threshold_loss)(t, x_train, y_train, beta)
        t = t - (8.0 / beta) * g  # the gradient grows with beta: keep the step steady
        first = float(loss) if first is None else first
        if step % 10 == 0 or step == steps - 1:
            _log(step, float(loss))
    acc = float(np.mean((x_test > t) == (y_test > 0)))
    print(f"[{NAME}] learned threshold {float(t):.3f} (true {true_t})", flush=True)
    print(f"[{NAME}] test accuracy: {acc:.4f}", flush=True)
    return {"threshold": float(t), "test_acc": acc, "train_acc": float(
        np.mean((x_train > t) == (y_train > 0))), "final_loss": float(loss), "steps": steps}


# --- 2. a tiny differentiable tree search ------------------------------------------------
def soft_minimax(w, leaves, tau):
    """Root value of a two-ply game: we pick the move whose worst reply is best."""
    values = leaves @ w  # (..., moves, replies)
    return soft.soft_max(soft.soft_min(values, tau, axis=-1), tau, axis=-1)


def best_move(w, leaves):
    return int(np.argmax(np.min(leaves @ w, axis=-1)))


def tree_search(quick):
    rng = np.random.default_rng(1)
    w_true = np.array([1.0, -0.5, 0.8, 0.3])
    games = rng.normal(size=(60, 3, 3, 4))  # 3 moves x 3 replies, 4 leaf features
    train, test = games[:40], games[40:]
    targets = np.array([np.max(np.min(g @ w_true, -1)) for g in train])
    w = np.zeros(4)

    def loss(w):  # every game at once: soft_min/soft_max reduce the last axis
        return np.mean((soft_minimax(w, train, 0.1) - targets) ** 2)

    for _ in range(25 if quick else 120):
        w = w - 0.3 * gl.grad(loss)(w)
    acc = float(np.mean([best_move(w, g) == best_move(w_true, g) for g in test]))
    print(f"[{NAME}] tree search: hard best move matches on {acc:.0%} of held-out games",
          flush=True)
    return {"tree_move_acc": acc}


# --- 3. learning to sort ---------------------------------------------------------------
def ranking_loss(w, items, relevance, tau):
    """Relevance sorted by the predicted scores, against the relevance sorted by itself."""
    perm = soft.soft_permutation(items @ w, tau, descending=True)  # (..., n, n)
    ranked = np.sum(perm * relevance[..., None, :], axis=-1)
    return np.mean((ranked - np.sort(relevance, axis=-1)[..., ::-1]) ** 2)


def learn_to_sort(quick):
    rng = np.random.default_rng(2)
    w_true = np.array([0.5, -1.0, 2.0])
    lists = rng.normal(size=(80, 6, 3))  # 80 lists of 6 items
    train, test = lists[:50], lists[50:]
    w = rng.normal(size=3) * 0.1

    def loss(w):  # every list at once
        return ranking_loss(w, train, train @ w_true, 0.3)

    for _ in range(30 if quick else 150):
        w = w - 0.5 * gl.grad(loss)(w)
    pairs = [np.mean(np.sign(np.subtract.outer(i @ w, i @ w)) ==
                     np.sign(np.subtract.outer(i @ w_true, i @ w_true))) for i in test]
    acc = float(np.mean(pairs))
    print(f"[{NAME}] learning to sort: {acc:.0%} of held-out pairs in the true order",
          flush=True)
    return {"sort_pair_acc": acc}


# --- 4. shortest paths with a perturbed solver --------------------------------------------
GRID = 4


def shortest_path(costs):
    """Cells on the cheapest right/down path from the top-left to the bottom-right cell."""
    costs = np.asarray(costs).reshape(GRID, GRID)
    total = np.full((GRID, GRID), np.inf)
    for i in range(GRID):
        for j in range(GRID):
            before = 0.0 if i == j == 0 else min(total[i - 1, j] if i else np.inf,
                                                 total[i, j - 1] if j else np.inf)
            total[i, j] = before + costs[i, j]
    path, (i, j) = np.zeros((GRID, GRID)), (GRID - 1, GRID - 1)
    while True:
        path[i, j] = 1.0
        if i == j == 0:
            return path.reshape(-1)
        up = total[i - 1, j] if i else np.inf
        left = total[i, j - 1] if j else np.inf
        i, j = (i - 1, j) if up <= left else (i, j - 1)


def learn_paths(quick):
    rng = np.random.default_rng(3)
    w_true = np.array([1.0, 0.5, -0.3])
    maps = rng.normal(size=(24, GRID * GRID, 3))
    train, test = maps[:12], maps[12:]
    truth = [shortest_path(m @ w_true) for m in train]
    smooth = soft.perturbed(shortest_path, sigma=0.5, n_samples=10 if quick else 40, key=0)
    w = np.zeros(3)

    def loss(w):
        return np.mean(np.stack([np.mean((smooth(m @ w) - y) ** 2)
                                 for m, y in zip(train, truth)]))

    for _ in range(15 if quick else 60):
        w = w - 1.0 * gl.grad(loss)(w)
    acc = float(np.mean([np.array_equal(shortest_path(m @ w), shortest_path(m @ w_true))
                         for m in test]))
    print(f"[{NAME}] shortest paths: {acc:.0%} of held-out grids solved exactly", flush=True)
    return {"path_acc": acc}


def train(quick: bool = False) -> dict:
    metrics = learn_threshold(quick)
    for demo in (tree_search, learn_to_sort, learn_paths):
        metrics.update(demo(quick))
    metrics["params"] = 1 + 4 + 3 + 3
    return metrics
