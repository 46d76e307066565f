"""sin by its Taylor series, summed in a while loop whose condition reads a traced value."""

import numpy as np


def taylor_sine(x):
    ans = currterm = x
    i = 0
    while np.abs(currterm) > 0.001:
        currterm = -currterm * x ** 2 / ((2 * i + 3) * (2 * i + 2))
        ans = ans + currterm
        i += 1
    return ans


def loss(x):
    return taylor_sine(x) ** 2 + taylor_sine(0.5 * x)


def setup():
    return np.array(1.1), ()
