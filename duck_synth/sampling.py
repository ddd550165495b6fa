"""Batched, vectorised sampling: tokens batch by batch (each conditioned on earlier ones), then decode.

Rows are produced in fixed-size chunks whose random streams derive from (seed, chunk index),
so the same seed gives the same rows on the same device, and a larger ``n`` extends a
smaller one's output rather than reshuffling it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import numpy as np
import polars as pl
import torch

from .artifacts import TrainedModel

CHUNK_ROWS = 16_384


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for one stream (chunk, column) derived from the user's seed."""
    return int(np.random.SeedSequence([seed & (2**63 - 1), *keys]).generate_state(1, np.uint64)[0] >> 1)


def fresh_seed() -> int:
    """A random seed for calls without one."""
    return secrets.randbits(63)


def _given_tokens(tm: TrainedModel, seeds: pl.DataFrame | None) -> dict[str, np.ndarray]:
    """Encode seed values (columns fixed by the caller) into tokens."""
    if seeds is None:
        return {}
    return {c: tm.columns[c].encoder.encode(tm.columns[c].state, seeds[c]) for c in seeds.columns}


def chunk_generator(seed: int, index: int) -> torch.Generator:
    """The random source of chunk ``index`` of ``sample_chunks(..., seed)``. It only draws each
    network's key, so it lives on the CPU whatever the device: a GPU then makes the uniforms a
    CPU makes, and drawing a key does not wait for the GPU."""
    return torch.Generator().manual_seed(derive_seed(seed, index))


def sample_tokens(
    tm: TrainedModel, n: int, generator: torch.Generator | None, given: dict[str, np.ndarray], device: str,
    parts: list[tuple[torch.Generator, int]] | None = None,
) -> dict[str, np.ndarray]:
    """Token matrices per column for ``n`` rows, batch after batch.

    Given columns that no batch of ``tm`` writes (a model loaded with only some batches)
    serve as context as they are. ``parts`` (generator, rows) samples consecutive runs of
    rows as separate calls with those generators would, in one pass (``BatchModel.sample``).
    """
    written = {c for batch in tm.batches for c in batch.targets}
    out: dict[str, np.ndarray] = {c: v for c, v in given.items() if c not in written}
    for batch in tm.batches:
        net = batch.model
        ctx = np.stack([out[c][:, 0] for c in batch.context], axis=1) if batch.context else np.zeros((n, 0), np.int64)
        widths = [len(tm.columns[c].encoder.cardinalities(tm.columns[c].state)) for c in batch.targets]
        fixed = [c for c in batch.targets if c in given]
        given_t = mask = order = None
        if fixed:
            given_t = torch.as_tensor(np.concatenate(
                [given[c] if c in given else np.zeros((n, w), np.int64) for c, w in zip(batch.targets, widths)],
                axis=1), device=device)
            mask = torch.as_tensor(np.repeat([c in given for c in batch.targets], widths), device=device)
            first = [i for i, c in enumerate(batch.targets) if c in given]
            order = first + [i for i in range(len(batch.targets)) if i not in first]
        tokens = net.sample(torch.as_tensor(ctx, device=device), generator, given_t, mask, order, parts).cpu().numpy()
        for c, piece in zip(batch.targets, np.split(tokens, np.cumsum(widths)[:-1], axis=1)):
            out[c] = piece
    return out


def first_chunks_together(tm: TrainedModel, calls: list[tuple[int, int]], device: str) -> list[dict[str, np.ndarray]]:
    """The tokens of the first chunk of each ``sample_chunks(tm, rows, seed, device)`` in
    ``calls`` (rows, seed), sampled in one pass of each batch network; ``sample_chunks(...,
    first=)`` takes them from there. They are the tokens the calls would sample one by one."""
    parts = [(chunk_generator(seed, 0), min(rows, CHUNK_ROWS)) for rows, seed in calls]
    tokens = sample_tokens(tm, sum(rows for _, rows in parts), None, {}, device, parts)
    bounds = np.cumsum([0] + [rows for _, rows in parts])
    return [{c: v[a:b] for c, v in tokens.items()} for a, b in zip(bounds[:-1], bounds[1:])]


def sample_chunks(
    tm: TrainedModel, n: int, seed: int, device: str = "cpu", seeds: pl.DataFrame | None = None,
    first: dict[str, np.ndarray] | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield decoded chunks (modelled columns, values as ``read_sql`` produced them).

    Args:
        tm: the loaded model.
        n: rows in total (ignored when ``seeds`` is given: one row per seed row).
        seed: the user's seed.
        device: torch device for sampling.
        seeds: optional frame of fixed values for some columns, one output row per row.
        first: the first chunk's tokens, sampled already (``first_chunks_together``).
    """
    total = seeds.height if seeds is not None else n
    for index, start in enumerate(range(0, total, CHUNK_ROWS)):
        rows = min(CHUNK_ROWS, total - start)
        part = seeds.slice(start, rows) if seeds is not None else None
        if index == 0 and first is not None:
            tokens = first
        else:
            tokens = sample_tokens(tm, rows, chunk_generator(seed, index), _given_tokens(tm, part), device)
        columns = {}
        for spec in sorted(tm.columns.values(), key=lambda s: s.ordinal):
            if part is not None and spec.name in part.columns:
                columns[spec.name] = part[spec.name]
                continue
            rng = np.random.default_rng(derive_seed(seed, index, spec.ordinal + 1))
            columns[spec.name] = spec.encoder.decode(spec.state, tokens[spec.name], rng)
        yield pl.DataFrame(columns)
