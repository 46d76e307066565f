"""Character data for the sequence models: the Zen of Python from the ``this`` module.

``this`` stores the poem ROT13-encoded in ``this.s`` (and prints it when first
imported, which is silenced here). The last ``test_fraction`` of the text is held out:
the models never train on those characters, and their held-out accuracy is how often
they predict each held-out character from the ``context`` characters before it.

>>> data = load_text()
>>> data.text.startswith("The Zen of Python"), data.vocab_size > 30
(True, True)
"""

from __future__ import annotations

import codecs
import contextlib
import io
import sys
from dataclasses import dataclass

import numpy as np

from gradlab.training import minibatches

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True


def zen_of_python() -> str:
    """The text of ``import this``, decoded with ROT13, without printing it."""
    if "this" not in sys.modules:
        with contextlib.redirect_stdout(io.StringIO()):
            import this  # noqa: F401
    return codecs.decode(sys.modules["this"].s, "rot13")


@dataclass
class CharData:
    """The text as integer ids, its alphabet, and the train/held-out boundary."""

    text: str
    chars: list
    ids: np.ndarray
    split: int  # ids[:split] is training text; targets at ids[split:] are held out

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def windows(self, context: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs ``ids[i-context:i]`` and targets ``ids[i-context+1:i+1]`` for i in [lo, hi)."""
        starts = np.arange(max(lo, context), hi) - context
        idx = starts[:, None] + np.arange(context + 1)
        seqs = self.ids[idx]
        return seqs[:, :-1], seqs[:, 1:]

    def train_batches(self, key, context: int, batch_size: int):
        """``step -> (inputs, targets)``: shuffled training windows (targets never held out)."""
        x, y = self.windows(context, context, self.split)
        return minibatches(key, (x, y), batch_size)


def load_text(test_fraction: float = 0.15) -> CharData:
    """The Zen of Python as ``CharData`` with its last ``test_fraction`` held out."""
    text = zen_of_python()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    return CharData(text, chars, ids, int(len(ids) * (1 - test_fraction)))


def next_char_accuracy(last_logits, data: CharData, context: int, lo: int, hi: int) -> float:
    """How often ``argmax(last_logits(window))`` is the next character, for targets in [lo, hi).

    ``last_logits(inputs)`` maps ``(n, context)`` ids to the ``(n, vocab)`` logits of the
    character after each window.
    """
    x, y = data.windows(context, lo, hi)
    return float(np.mean(np.argmax(np.asarray(last_logits(x)), -1) == y[:, -1]))
