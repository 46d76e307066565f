"""Mixture-of-Gaussians variational family: logsumexp over components, a list of tuples."""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm


def log_target(x):
    return logsumexp(np.stack([norm.logpdf(x[:, 0], -1.0, 0.5) + norm.logpdf(x[:, 1], 0.5, 1.0),
                               norm.logpdf(x[:, 0], 1.5, 0.7) + norm.logpdf(x[:, 1], -1, 0.4)]),
                     axis=0)


def mixture_log_density(x, component_params, log_weights):
    comps = [np.sum(norm.logpdf(x, mean, np.exp(log_std)), axis=1)
             for mean, log_std in component_params]
    log_weights = log_weights - logsumexp(log_weights)
    return logsumexp(np.array(comps) + log_weights[:, None], axis=0)


def loss(params, noise):
    component_params, log_weights = params
    # Sample from the first component (reparameterised), score under the whole mixture.
    mean, log_std = component_params[0]
    samples = mean + np.exp(log_std) * noise
    return np.mean(mixture_log_density(samples, component_params, log_weights)
                   - log_target(samples))


def setup():
    rs = np.random.RandomState(6)
    params = ([(rs.randn(2), -0.5 * np.ones(2)), (rs.randn(2), -0.3 * np.ones(2))],
              np.array([0.2, -0.1]))
    return params, (rs.randn(12, 2),)
