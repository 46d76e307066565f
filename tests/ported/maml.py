"""Meta-learning: the outer loss differentiates through inner gradient steps (grad of grad)."""

import numpy as np

from gradlab import grad


def model(params, x):
    w, b = params
    return np.tanh(x * w[0] + b[0]) * w[1] + b[1]


def task_loss(params, x, y):
    return np.mean((model(params, x) - y) ** 2)


def inner_update(params, x, y, step=0.1):
    grads = grad(task_loss)(params, x, y)
    return [p - step * g for p, g in zip(params, grads)]


def loss(params, tasks):
    total = 0.0
    for x_train, y_train, x_test, y_test in tasks:
        adapted = inner_update(params, x_train, y_train)
        total = total + task_loss(adapted, x_test, y_test)
    return total / len(tasks)


def setup():
    rs = np.random.RandomState(19)
    tasks = []
    for amp, phase in [(1.0, 0.3), (0.5, -0.7)]:
        x = rs.uniform(-2, 2, size=10)
        tasks.append((x[:5], amp * np.sin(x[:5] + phase), x[5:], amp * np.sin(x[5:] + phase)))
    return [np.array([0.8, 1.1]), np.array([0.1, -0.2])], (tasks,)
