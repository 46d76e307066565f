"""The JAX tutorial's MLP, ported by imports: random.PRNGKey/split/normal, a per-example
``predict`` batched by ``vmap``, a jitted SGD ``update`` over a list of (w, b) pairs."""

import numpy as np
from scipy.special import logsumexp

from gradlab import grad, jit, random, vmap


def random_layer_params(m, n, key, scale=1e-1):
    w_key, b_key = random.split(key)
    return scale * random.normal(w_key, (n, m)), scale * random.normal(b_key, (n,))


def init_network_params(sizes, key):
    keys = random.split(key, len(sizes))
    return [random_layer_params(m, n, k) for m, n, k in zip(sizes[:-1], sizes[1:], keys)]


def relu(x):
    return np.maximum(0, x)


def predict(params, image):
    activations = image
    for w, b in params[:-1]:
        activations = relu(np.dot(w, activations) + b)
    final_w, final_b = params[-1]
    logits = np.dot(final_w, activations) + final_b
    return logits - logsumexp(logits)


batched_predict = vmap(predict, in_axes=(None, 0))


def one_hot(x, k, dtype=np.float64):
    return np.array(x[:, None] == np.arange(k), dtype)


def loss(params, images, targets):
    preds = batched_predict(params, images)
    return -np.mean(preds * targets)


@jit
def update(params, x, y, step_size=0.1):
    grads = grad(loss)(params, x, y)
    return [(w - step_size * dw, b - step_size * db) for (w, b), (dw, db) in zip(params, grads)]


def setup():
    params = init_network_params([4, 6, 3], random.PRNGKey(0))
    rs = np.random.RandomState(27)
    images = rs.randn(8, 4)
    return params, (images, one_hot(rs.randint(0, 3, size=8), 3))
