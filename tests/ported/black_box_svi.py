"""Black-box variational inference: reparameterised samples, norm.logpdf, Gaussian entropy."""

import numpy as np
from scipy.stats import norm


def log_density(x):
    mu, log_sigma = x[:, 0], x[:, 1]
    sigma_density = norm.logpdf(log_sigma, 0, 1.35)
    mu_density = norm.logpdf(mu, 0, np.exp(log_sigma))
    return sigma_density + mu_density


def black_box_variational_inference(logprob, D, num_samples, seed):
    def unpack_params(params):
        return params[:D], params[D:]

    def gaussian_entropy(log_std):
        return 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)

    rs = np.random.RandomState(seed)
    noise = rs.randn(num_samples, D)

    def variational_objective(params):
        mean, log_std = unpack_params(params)
        samples = noise * np.exp(log_std) + mean
        lower_bound = gaussian_entropy(log_std) + np.mean(logprob(samples))
        return -lower_bound

    return variational_objective


def loss(params, num_samples):
    return black_box_variational_inference(log_density, 2, num_samples, seed=0)(params)


def setup():
    return np.array([-1.0, -1.0, -5.0, -5.0]) * 0.2, (16,)
