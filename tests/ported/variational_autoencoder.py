"""A VAE: encoder/decoder MLPs, reparameterised diagonal Gaussian, Bernoulli log density."""

import numpy as np


def diag_gaussian_log_density(x, mu, log_std):
    return np.sum(-0.5 * ((x - mu) / np.exp(log_std)) ** 2
                  - log_std - 0.5 * np.log(2 * np.pi), axis=-1)


def relu(x):
    return np.maximum(0, x)


def neural_net_predict(params, inputs):
    for W, b in params[:-1]:
        inputs = relu(np.dot(inputs, W) + b)
    W, b = params[-1]
    return np.dot(inputs, W) + b


def bernoulli_log_density(targets, unnormalized_logprobs):
    label_probabilities = -np.logaddexp(0, -unnormalized_logprobs * (2 * targets - 1))
    return np.sum(label_probabilities, axis=-1)


def vae_lower_bound(gen_params, rec_params, data, eps):
    outputs = neural_net_predict(rec_params, data)
    D = outputs.shape[-1] // 2
    q_means, q_log_stds = outputs[:, :D], outputs[:, D:]
    latents = q_means + np.exp(q_log_stds) * eps
    q_latents = diag_gaussian_log_density(latents, q_means, q_log_stds)
    p_latents = diag_gaussian_log_density(latents, 0, 0)
    logits = neural_net_predict(gen_params, latents)
    p_data = bernoulli_log_density(data, logits)
    return np.mean(p_data + p_latents - q_latents)


def loss(params, data, eps):
    gen_params, rec_params = params
    return -vae_lower_bound(gen_params, rec_params, data, eps)


def setup():
    rs = np.random.RandomState(4)

    def layers(sizes):
        return [(0.3 * rs.randn(m, n), 0.1 * rs.randn(n)) for m, n in zip(sizes[:-1], sizes[1:])]

    params = (layers([2, 5, 6]), layers([6, 5, 4]))
    data = (rs.rand(7, 6) > 0.5).astype(float)
    return params, (data, rs.randn(7, 2))
