"""A character RNN: a Python loop over time steps, concatenation, per-step log-softmax."""

import numpy as np
from scipy.special import logsumexp


def sigmoid(x):
    return 0.5 * (np.tanh(x) + 1.0)


def concat_and_multiply(weights, *args):
    cat_state = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
    return np.dot(cat_state, weights)


def rnn_predict(params, inputs):
    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params['init hiddens'], num_sequences, axis=0)
    output = []
    for input in inputs:
        hiddens = np.tanh(concat_and_multiply(params['change'], input, hiddens))
        out = concat_and_multiply(params['predict'], hiddens)
        output.append(out - logsumexp(out, axis=1, keepdims=True))
    return output


def loss(params, inputs, targets):
    logprobs = rnn_predict(params, inputs)
    loglik = 0.0
    for t in range(len(logprobs)):
        loglik += np.sum(logprobs[t] * targets[t])
    return -loglik / (inputs.shape[0] * inputs.shape[1])


def setup():
    rs = np.random.RandomState(1)
    n_in, n_hid, n_out = 4, 5, 4
    params = {'init hiddens': rs.randn(1, n_hid) * 0.1,
              'change': rs.randn(n_in + n_hid + 1, n_hid) * 0.3,
              'predict': rs.randn(n_hid + 1, n_out) * 0.3}
    seq = rs.randint(0, 4, size=(6, 2))
    onehot = np.eye(4)[seq]
    return params, (onehot[:-1], onehot[1:])
