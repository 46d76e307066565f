"""Single-head self-attention in the JAX tutorial style: einsum, softmax, layer norm."""

import numpy as np


def softmax(x, axis=-1):
    unnormalized = np.exp(x - x.max(axis, keepdims=True))
    return unnormalized / unnormalized.sum(axis, keepdims=True)


def layer_norm(x, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def attention(params, x):
    q = np.einsum('td,dk->tk', x, params['wq'])
    k = np.einsum('td,dk->tk', x, params['wk'])
    v = np.einsum('td,dk->tk', x, params['wv'])
    scores = q @ k.T / np.sqrt(q.shape[-1])
    causal = np.tril(np.ones((x.shape[0], x.shape[0]), dtype=bool))
    scores = np.where(causal, scores, -1e9)
    return layer_norm(x + softmax(scores) @ v)


def loss(params, x, y):
    out = attention(params, x)
    return np.mean((out @ params['head'] - y) ** 2)


def setup():
    rs = np.random.RandomState(17)
    d = 4
    params = {name: 0.4 * rs.randn(d, d) for name in ('wq', 'wk', 'wv')}
    params['head'] = 0.4 * rs.randn(d, 1)
    return params, (rs.randn(5, d), rs.randn(5, 1))
