"""``gradlab.nn``: functional neural-network ops, parameters and their initialisers.

Every op is a primitive or an exact composition of primitives, so ``grad``, ``jvp``
and higher derivatives of anything built from them are exact. Layers are functions of
explicit parameters (nested dicts of arrays); nothing holds hidden state.

>>> import numpy as np, gradlab as gl
>>> key = gl.random.key(0)
>>> params = gl.nn.init_linear(key, 4, 3)
>>> x, y = np.ones((2, 4)), np.array([0, 2])
>>> loss = lambda p: gl.nn.cross_entropy(gl.nn.linear(x, p["w"], p["b"]), y)
>>> gl.grad(loss)(params)["w"].shape
(4, 3)
"""

from .activation_layer import Activation
from .activations import (
    elu,
    gelu,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    logsumexp,
    normal_cdf,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
)
from .attention import causal_mask, multi_head_attention, scaled_dot_product_attention
from .conv import avg_pool2d, conv1d, conv2d, conv_transpose2d, max_pool2d, overlap_add, windows
from .layers import (
    batch_norm,
    batch_norm_state,
    dropout,
    embedding,
    group_norm,
    layer_norm,
    linear,
    rms_norm,
)
from .losses import (
    accuracy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber,
    mse,
    one_hot,
)
from .params import (
    Frozen,
    Tied,
    count_params,
    frozen,
    glorot,
    he,
    init_conv2d,
    init_embedding,
    init_gru,
    init_layer_norm,
    init_linear,
    init_lstm,
    init_mha,
    is_trainable,
    load,
    normal,
    ones,
    resolve,
    save,
    tied,
    zeros,
)
from .recurrent import gru_cell, lstm_cell

__all__ = [
    "Activation", "Frozen", "Tied", "accuracy", "avg_pool2d", "batch_norm", "batch_norm_state",
    "binary_cross_entropy_with_logits", "causal_mask", "conv1d", "conv2d", "conv_transpose2d",
    "count_params", "cross_entropy", "dropout", "elu", "embedding", "frozen", "gelu", "glorot",
    "group_norm", "gru_cell", "he", "huber", "init_conv2d", "init_embedding", "init_gru",
    "init_layer_norm", "init_linear", "init_lstm", "init_mha", "is_trainable", "layer_norm",
    "leaky_relu", "linear", "load", "log_sigmoid", "log_softmax", "logsumexp", "lstm_cell",
    "max_pool2d", "mse", "multi_head_attention", "normal", "normal_cdf", "one_hot", "ones",
    "overlap_add", "relu", "resolve", "rms_norm", "save", "scaled_dot_product_attention",
    "sigmoid", "silu", "softmax", "softplus", "tied", "windows", "zeros",
]
