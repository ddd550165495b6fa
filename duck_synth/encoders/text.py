"""Free text and high-cardinality strings: a byte-level BPE (HuggingFace ``tokenizers``).

A value becomes ``max_len`` tokens: its BPE pieces, then [END] padding. NULL is the [NULL]
token in the first position. Byte-level BPE covers any unicode (emoji included), so every
sampled token sequence decodes to a valid string. Values longer than ``max_len`` pieces
are truncated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import polars as pl
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from .base import SimpleSQL, register, with_nulls

END, NULL = 0, 1
SPECIAL_TOKENS = ["[END]", "[NULL]"]
MAX_TOKENS = 24
READ_CHARS = 4096
"""Characters of each value that training reads: far more than ``MAX_TOKENS`` tokens ever need,
and a 100 MB value costs no more than a short one."""
VOCAB_SIZE = 1000
TRAIN_SAMPLE = 50_000


@dataclass(frozen=True)
class TextState:
    """The tokenizer (its JSON) and the token budget per value."""

    tokenizer: str
    max_len: int
    vocab_size: int


@lru_cache(maxsize=64)
def _tokenizer(text: str) -> Tokenizer:
    return Tokenizer.from_str(text)


def train_tokenizer(values: list[str], vocab_size: int = VOCAB_SIZE) -> Tokenizer:
    """Train a byte-level BPE on the column's values."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(values, trainer=trainer)
    return tok


class TextEncoder(SimpleSQL):
    """VARCHAR with many distinct values (names, addresses, notes)."""

    kind: ClassVar[str] = "text"
    state_type: ClassVar[type] = TextState

    def __init__(self, vocab_size: int = VOCAB_SIZE, max_tokens: int = MAX_TOKENS) -> None:
        """Tokenizer knobs; the state records what was used, so any instance decodes any state.

        Args:
            vocab_size: BPE vocabulary size (about 258 means byte-level characters, no merges).
            max_tokens: tokens kept per value (longer values are truncated).
        """
        self.vocab_size = vocab_size
        self.max_tokens = max_tokens

    def analyze(self, values: pl.Series, duckdb_type: str) -> TextState:
        present = values.drop_nulls()
        sample = present.sample(min(present.len(), TRAIN_SAMPLE), seed=0) if present.len() else present
        tok = train_tokenizer(sample.to_list(), self.vocab_size)
        lengths = np.array([len(e.ids) for e in tok.encode_batch(sample.head(5000).to_list())] or [0])
        max_len = int(min(self.max_tokens, np.quantile(lengths, 0.99) + 1)) if lengths.size else 1
        return TextState(tok.to_str(), max(1, max_len), tok.get_vocab_size())

    def encode(self, state: TextState, values: pl.Series) -> np.ndarray:
        tok = _tokenizer(state.tokenizer)
        codes = np.full((values.len(), state.max_len), END, dtype=np.int64)
        null = values.is_null().to_numpy()
        texts = values.fill_null("").to_list()
        for i, enc in enumerate(tok.encode_batch(texts)):
            ids = enc.ids[: state.max_len]
            codes[i, : len(ids)] = ids
        codes[null, 0] = NULL
        codes[null, 1:] = END
        return codes

    def decode(self, state: TextState, codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
        tok = _tokenizer(state.tokenizer)
        null = codes[:, 0] == NULL
        # everything after the first [END] is ignored; [NULL] past position 0 is dropped
        ended = np.cumsum(codes == END, axis=1) > 0
        kept = np.where(ended | (codes == NULL), -1, codes)
        sequences = [row[row >= 0].tolist() for row in kept]
        texts = tok.decode_batch(sequences, skip_special_tokens=True)
        return with_nulls(pl.Series(texts, dtype=pl.String), null)

    def cardinalities(self, state: TextState) -> list[int]:
        return [state.vocab_size] * state.max_len


register(TextEncoder())
