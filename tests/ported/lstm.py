"""An LSTM over a batch of sequences: gates from one matrix product, split by slicing."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(params, x, hiddens, cells):
    n = hiddens.shape[1]
    z = np.concatenate([x, hiddens, np.ones((x.shape[0], 1))], axis=1) @ params['gates']
    forget, ingate = sigmoid(z[:, :n]), sigmoid(z[:, n:2 * n])
    change, outgate = np.tanh(z[:, 2 * n:3 * n]), sigmoid(z[:, 3 * n:])
    cells = cells * forget + ingate * change
    return outgate * np.tanh(cells), cells


def loss(params, inputs, targets):
    batch = inputs.shape[1]
    hiddens = np.tile(params['h0'], (batch, 1))
    cells = np.tile(params['c0'], (batch, 1))
    total = 0.0
    for x, y in zip(inputs, targets):
        hiddens, cells = lstm_step(params, x, hiddens, cells)
        pred = hiddens @ params['out']
        total = total + np.mean((pred - y) ** 2)
    return total / len(inputs)


def setup():
    rs = np.random.RandomState(2)
    n_in, n_hid = 3, 4
    params = {'gates': 0.3 * rs.randn(n_in + n_hid + 1, 4 * n_hid),
              'h0': 0.1 * rs.randn(n_hid), 'c0': 0.1 * rs.randn(n_hid),
              'out': 0.3 * rs.randn(n_hid, 2)}
    return params, (rs.randn(5, 3, n_in), rs.randn(5, 3, 2))
