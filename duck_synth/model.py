"""The per-batch network: an autoregressive model over token sub-columns.

Each row is ``S = C + T`` integer tokens: ``C`` context tokens (one per column of earlier
batches, always visible) followed by ``T`` target tokens (this batch's sub-columns). Target
``j`` is predicted from the embeddings of the context and of the targets that come before
it in the current *order*. Every target has its own first layer, computed for all targets
at once as one masked matmul; one shared residual layer per target follows; a linear head
per target gives logits over that sub-column's vocabulary.

The order is a permutation of the batch's columns (a column's sub-columns stay together).
Training mixes the canonical order with random orders (any-order autoregression), so the
same weights can condition on any subset of columns at generation time (seed fields).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; stored as JSON beside the weights."""

    context_cards: tuple[int, ...]  # vocabulary of each context token
    target_cards: tuple[int, ...]  # vocabulary of each target sub-column, canonical order
    target_groups: tuple[int, ...]  # column index (within the batch) of each target sub-column
    emb_dim: int = 16
    hidden: int = 128
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def order_ranks(groups: tuple[int, ...], column_order: list[int]) -> torch.Tensor:
    """Rank of each target sub-column when columns are taken in ``column_order``."""
    position = {g: i for i, g in enumerate(column_order)}
    keys = [(position[g], j) for j, g in enumerate(groups)]
    ranks = sorted(range(len(keys)), key=lambda j: keys[j])
    out = torch.empty(len(keys), dtype=torch.long)
    out[torch.tensor(ranks)] = torch.arange(len(keys))
    return out


class BatchModel(nn.Module):
    """Autoregressive network for one column batch."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        cards = list(cfg.context_cards) + list(cfg.target_cards)
        self.n_ctx, self.n_tgt, self.n_tok = len(cfg.context_cards), len(cfg.target_cards), len(cards)
        d, h, s, t = cfg.emb_dim, cfg.hidden, len(cards), len(cfg.target_cards)
        offsets = torch.tensor([0] + cards[:-1]).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        self.emb = nn.Embedding(sum(cards), d)
        self.w1 = nn.Parameter(torch.randn(t, s * d, h) / math.sqrt(s * d))  # (T, S*d, H)
        self.b1 = nn.Parameter(torch.zeros(t, h))
        self.seen = nn.Parameter(torch.zeros(t, s, h))  # what "input k is visible" adds for target j
        self.w2 = nn.Parameter(torch.randn(t, h, h) / math.sqrt(h))  # (T, H, H)
        self.b2 = nn.Parameter(torch.zeros(t, h))
        v = max(cfg.target_cards)
        self.head_w = nn.Parameter(torch.randn(t, h, v) / math.sqrt(h))  # (T, H, V) padded to the largest vocab
        self.head_b = nn.Parameter(torch.zeros(t, v))
        valid = torch.arange(v)[None, :] < torch.tensor(cfg.target_cards)[:, None]
        self.register_buffer("pad", torch.where(valid, 0.0, float("-inf")), persistent=False)  # (T, V)
        self.drop = nn.Dropout(cfg.dropout)

    def visibility(self, ranks: torch.Tensor) -> torch.Tensor:
        """(T, S) mask: context always visible; target k visible to j when it comes earlier."""
        ctx = torch.ones(self.n_tgt, self.n_ctx, dtype=torch.bool, device=ranks.device)
        tgt = ranks[None, :] < ranks[:, None]
        return torch.cat([ctx, tgt], dim=1)

    def first_layer(self, vis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked first-layer weights (S*d, T*H) and bias (T, H) for a visibility mask."""
        d = self.cfg.emb_dim
        mask = vis.repeat_interleave(d, dim=1).to(self.w1.dtype)  # (T, S*d)
        w = (self.w1 * mask[:, :, None]).permute(1, 0, 2).reshape(self.n_tok * d, -1)
        bias = self.b1 + torch.einsum("ts,tsh->th", vis.to(self.seen.dtype), self.seen)
        return w, bias

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.emb(tokens + self.offsets)  # (B, S, d)

    def forward(self, tokens: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of every target sub-column given its predecessors in the order ``ranks``;
        entries past a sub-column's vocabulary are -inf."""
        w, bias = self.first_layer(self.visibility(ranks))
        x = self.drop(self.embed(tokens).flatten(1))  # (B, S*d)
        z = F.gelu((x @ w).view(x.shape[0], self.n_tgt, -1) + bias)  # (B, T, H)
        z = self.drop(z)
        z = F.gelu(torch.einsum("bth,thg->btg", z, self.w2) + self.b2) + z  # (B, T, H)
        return torch.einsum("bth,thv->btv", z, self.head_w) + self.head_b + self.pad  # (B, T, V)

    def loss(self, tokens: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over target sub-columns."""
        logits = self.forward(tokens, ranks)
        return F.cross_entropy(logits.flatten(0, 1).float(), tokens[:, self.n_ctx :].flatten())

    @torch.no_grad()
    def sample(
        self,
        context: torch.Tensor,
        generator: torch.Generator,
        given: torch.Tensor | None = None,
        given_mask: torch.Tensor | None = None,
        column_order: list[int] | None = None,
        stream_rows: int | None = None,
    ) -> torch.Tensor:
        """Sample target tokens for each row of ``context``.

        Args:
            context: (B, C) context tokens.
            generator: random source (fixes the output for a seed).
            given: (B, T) target tokens that are fixed (seed fields); used where ``given_mask``.
            given_mask: (T,) bool, sub-columns taken from ``given`` instead of sampled.
            column_order: order of the batch's columns; given columns must come first.
            stream_rows: uniforms are drawn this many at a time (>= B) and the first B used,
                so row i gets the same draws whatever B is: a larger n extends a smaller one.

        Returns:
            (B, T) target tokens.
        """
        b = context.shape[0]
        groups = self.cfg.target_groups
        order = column_order if column_order is not None else sorted(set(groups))
        ranks = order_ranks(groups, order).to(context.device)
        w, bias = self.first_layer(self.visibility(ranks))
        w = w.view(self.n_tok, self.cfg.emb_dim, self.n_tgt, -1)  # (S, d, T, H)
        tokens = torch.zeros(b, self.n_tok, dtype=torch.long, device=context.device)
        tokens[:, : self.n_ctx] = context
        if given is not None and given_mask is not None:
            tokens[:, self.n_ctx :][:, given_mask] = given[:, given_mask]
        x = self.embed(tokens)  # (B, S, d)
        for j in torch.argsort(ranks).tolist():
            if given_mask is not None and bool(given_mask[j]):
                continue
            wj = w[:, :, j, :].reshape(self.n_tok * self.cfg.emb_dim, -1)  # (S*d, H)
            z = F.gelu(x.flatten(1) @ wj + bias[j])
            z = F.gelu(z @ self.w2[j] + self.b2[j]) + z
            probs = torch.softmax((z @ self.head_w[j] + self.head_b[j] + self.pad[j]).float(), dim=-1)
            u = torch.rand(max(b, stream_rows or b), generator=generator, device=probs.device)[:b]
            cdf = probs.cumsum(-1)
            tok = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).squeeze(1).clamp_(max=self.cfg.target_cards[j] - 1)
            pos = self.n_ctx + j
            tokens[:, pos] = tok
            x[:, pos] = self.emb(tok + self.offsets[pos])
        return tokens[:, self.n_ctx :]
