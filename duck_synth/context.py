"""Which earlier columns a batch is conditioned on.

Every column of earlier batches is context while there are at most ``MAX_CONTEXT``; past
that (wide tables) the ones most informative about the batch's own columns are kept,
ranked by mutual information of their primary tokens on a sample of rows, each coarsened to
at most ``MI_LEVELS`` levels (adjacent tokens merged). That keeps every estimate cheap (a
1,503-column table needs about a million of them) and the plug-in estimate's upward bias
for many-valued columns small.
"""

from __future__ import annotations

import numpy as np

MAX_CONTEXT = 64
MI_SAMPLE = 2_000
MI_LEVELS = 32


def coarse(tokens: np.ndarray, levels: int = MI_LEVELS) -> np.ndarray:
    """Tokens merged into at most ``levels`` groups of adjacent values."""
    k = int(tokens.max()) + 1 if tokens.size else 1
    return tokens if k <= levels else tokens * levels // k


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information (nats) of two integer token vectors."""
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    joint = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(np.float64)
    joint /= joint.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())


def choose_context(earlier: list[str], targets: list[str], tokens: dict[str, np.ndarray]) -> list[str]:
    """Context columns for a batch, in source order of ``earlier``."""
    if len(earlier) <= MAX_CONTEXT:
        return list(earlier)
    n = next(iter(tokens.values())).shape[0]
    rows = np.random.default_rng(0).choice(n, size=min(n, MI_SAMPLE), replace=False)
    primary = {c: coarse(tokens[c][rows, 0]) for c in [*earlier, *targets]}
    score = {c: max(mutual_information(primary[c], primary[t]) for t in targets) for c in earlier}
    keep = set(sorted(earlier, key=lambda c: -score[c])[:MAX_CONTEXT])
    return [c for c in earlier if c in keep]
