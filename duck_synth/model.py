"""The per-batch network: an autoregressive model over token sub-columns.

Each row is ``S = C + T`` integer tokens: ``C`` context tokens (one per column of earlier
batches, always visible) followed by ``T`` target tokens (this batch's sub-columns). Every
token is embedded and projected into a shared hidden space; target ``j`` sees the sum of the
projections of the context and of the targets before it in the current *order* (an exclusive
prefix sum, so one pass trains every target). A per-target residual layer and a head per
target (one padded einsum) turn that into logits over the sub-column's vocabulary.

The order is a permutation of the batch's columns (a column's sub-columns stay together).
Training mixes the canonical order with random orders (any-order autoregression), so the
same weights can condition on any subset of columns at generation time (seed fields).
Sampling keeps the running sum, so each sampled token costs O(H·(H + V)) per row (less for the
first columns of a batch without context, whose few distinct prefixes share their states).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; stored as JSON beside the weights."""

    context_cards: tuple[int, ...]  # vocabulary of each context token
    target_cards: tuple[int, ...]  # vocabulary of each target sub-column, canonical order
    target_groups: tuple[int, ...]  # column index (within the batch) of each target sub-column
    ordinal: tuple[bool, ...] = ()  # per token (context then targets): numeric/datetime bins, ordered
    emb_dim: int = 16
    hidden: int = 128
    dropout: float = 0.3  # in the per-target trunk
    input_dropout: float | None = None  # on each input's embedding units; None: same as ``dropout``
    token_dropout: float = 0.0  # chance that an input is replaced by its learned "absent" vector

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


INPUT_DROPOUT = 0.0
TOKEN_DROPOUT = 0.1
"""What ``train`` uses (the config's defaults stay those of earlier models, so their artifacts load).

Dropping single embedding units of every input (the old default, 0.3) adds noise to a sum of
many inputs that the network never sees at generation time, which shifted marginals of late
columns in a batch (loans' ``inquiries_last_12m``: 24.7% zeros against 31.1% real). Replacing a
whole input by a learned "absent" vector instead is noise the network can recognise: it learns
every conditional with some inputs missing, and the full-input one stays calibrated.
Measured in benchmarks/README.md ("Token dropout")."""

TREE_STATES = 4096
"""Most distinct prefixes whose states ``sample`` keeps instead of one state per row."""

SLICE_ROWS = 4096
"""Rows that go through the per-row targets together in ``sample`` on CPU (a GPU takes them all)."""


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
        nn.init.normal_(self.emb.weight, std=0.1)  # small: the ordinal path carries the first signal
        self.proj = nn.Parameter(torch.randn(s, d, h) / math.sqrt(d))  # (S, d, H) one projection per input
        # an ordinal token also enters as its position in [-1, 1] along a learned direction, so a
        # monotone relation between numbers is learnable from little data
        ordinal = torch.tensor(cfg.ordinal or (False,) * s, dtype=torch.float32)
        self.register_buffer("is_ordinal", ordinal, persistent=False)
        self.register_buffer("card", torch.tensor(cards, dtype=torch.float32), persistent=False)
        self.ord_dir = nn.Parameter(torch.randn(s, h) / math.sqrt(h))
        self.b1 = nn.Parameter(torch.zeros(t, h))  # which target is being predicted
        self.norm = nn.LayerNorm(h)
        self.w2 = nn.Parameter(torch.randn(t, h, h) / math.sqrt(h))  # (T, H, H)
        self.b2 = nn.Parameter(torch.zeros(t, h))
        v = max(cfg.target_cards)
        self.head_w = nn.Parameter(torch.randn(t, h, v) / math.sqrt(h))  # (T, H, V) padded to the largest vocab
        self.head_b = nn.Parameter(torch.zeros(t, v))
        valid = torch.arange(v)[None, :] < torch.tensor(cfg.target_cards)[:, None]
        self.register_buffer("pad", torch.where(valid, 0.0, float("-inf")), persistent=False)  # (T, V)
        self.drop = nn.Dropout(cfg.dropout)
        self.drop_in = nn.Dropout(cfg.dropout if cfg.input_dropout is None else cfg.input_dropout)
        if cfg.token_dropout:
            self.absent = nn.Parameter(torch.zeros(s, h))

    def contributions(self, tokens: torch.Tensor, first: int = 0) -> torch.Tensor:
        """Projection of input tokens ``first, first+1, ...`` into the hidden space, (B, S', H)."""
        k = slice(first, first + tokens.shape[1])
        x = self.drop_in(self.emb(tokens + self.offsets[k]))  # (B, S', d)
        pos = (2 * tokens + 1) / self.card[k] - 1  # (B, S') in [-1, 1]
        p = torch.einsum("bsd,sdh->bsh", x, self.proj[k]) + (pos * self.is_ordinal[k])[..., None] * self.ord_dir[k]
        if self.training and self.cfg.token_dropout:
            gone = torch.rand(p.shape[:2], device=p.device) < self.cfg.token_dropout
            p = torch.where(gone[..., None], self.absent[k], p)
        return p

    def trunk(self, pre: torch.Tensor, j: slice | int) -> torch.Tensor:
        """Per-target layers from the summed inputs ``pre``: (B, T', H) for targets ``j`` (a slice),
        or (B, H) for the single target ``j`` (an int; sampling, where the bias add is fused)."""
        z = self.drop(F.gelu(self.norm(pre + self.b1[j])))
        if isinstance(j, int):
            return F.gelu(torch.addmm(self.b2[j], z, self.w2[j])).add_(z)
        return F.gelu(torch.einsum("bth,thg->btg", z, self.w2[j]) + self.b2[j]) + z

    def forward(self, tokens: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of every target sub-column given its predecessors in the order ``ranks``;
        entries past a sub-column's vocabulary are -inf."""
        p = self.contributions(tokens)
        ctx = p[:, : self.n_ctx].sum(1, keepdim=True)  # (B, 1, H)
        own = p[:, self.n_ctx :][:, torch.argsort(ranks)]  # targets in order
        before = (own.cumsum(1) - own)[:, ranks]  # (B, T, H) sum over targets earlier in the order
        z = self.trunk(ctx + before, slice(None))
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
        parts: list[tuple[torch.Generator, int]] | None = None,
    ) -> torch.Tensor:
        """Sample target tokens for each row of ``context``.

        Every input value's projection is computed once (a table per token), so an input costs
        a lookup instead of an embedding and a matmul. Without context, the first targets have
        few distinct prefixes: their states are kept per prefix (up to ``TREE_STATES``) rather
        than per row, so the trunk and head run on those few states only.

        Args:
            context: (B, C) context tokens.
            generator: random source (fixes the output for a seed). One draw from it keys a
                stream of uniforms per target; row i takes the i-th of each, so row i's tokens
                never depend on B (a larger B extends a smaller one).
            given: (B, T) target tokens that are fixed (seed fields); used where ``given_mask``.
            given_mask: (T,) bool, sub-columns taken from ``given`` instead of sampled.
            column_order: order of the batch's columns; given columns must come first.
            parts: instead of ``generator``, (generator, rows) for consecutive runs of rows that
                are sampled as if by a call each (each run draws its own key), in one pass: on a
                GPU one pass over several blocks costs about what one block does.

        Returns:
            (B, T) target tokens.
        """
        if self.training:
            raise RuntimeError("sample() needs an eval-mode network (call .eval() first)")
        b, dev, h = context.shape[0], context.device, self.cfg.hidden
        order = column_order if column_order is not None else sorted(set(self.cfg.target_groups))
        steps = torch.argsort(order_ranks(self.cfg.target_groups, order)).tolist()
        fixed = set() if given_mask is None else {j for j in steps if bool(given_mask[j])}
        cols = {j: given[:, j].contiguous() if j in fixed else torch.empty(b, dtype=torch.long, device=dev)
                for j in steps}
        parts = [(generator, b)] if parts is None else parts
        if (covered := sum(rows for _, rows in parts)) != b:
            raise ValueError(f"parts cover {covered} rows, the context {b}")
        keys = [(int(torch.randint(2**62, (1,), generator=g, device=g.device).item()), rows) for g, rows in parts]
        uniforms = {j: _uniforms(keys, j, dev) for j in steps if j not in fixed}
        plan = _Plan(self, steps, dev)
        pos, first_drawn = 0, False  # steps taken in the prefix tree; whether it drew the next one too
        if self.n_ctx == 0:  # one state per distinct prefix; `prefix` says which is each row's
            states = plan.start[None]
            prefix = torch.zeros(b, dtype=torch.long, device=dev)
            while pos < len(steps):
                j, card = steps[pos], self.cfg.target_cards[steps[pos]]
                if j in uniforms:
                    cols[j] = _invert(plan.cdf(states, pos).index_select(0, prefix), uniforms[j], card)
                if states.shape[0] * card > TREE_STATES:
                    first_drawn = True
                    break
                states = (states[:, None, :] + plan.moves[pos][None]).reshape(-1, h)
                prefix = prefix * card + cols[j]
                pos += 1
            if pos == len(steps):
                return torch.stack([cols[j] for j in range(self.n_tgt)], 1)
            running = states.index_select(0, prefix)
        else:
            running = plan.start.expand(b, h).clone()
            for k in range(self.n_ctx):
                running.add_(plan.tables[k].index_select(0, context[:, k]))
        # one state per row from here: on CPU a slice of rows goes through all remaining targets
        # before the next, which keeps its activations in cache (1.2-1.4x faster than whole
        # blocks); a GPU takes the whole block at once (slices would only multiply its launches)
        step = SLICE_ROWS if dev.type == "cpu" else max(b, 1)
        for start in range(0, b, step):
            r = slice(start, start + step)
            state = running[r]
            for p in range(pos, len(steps)):
                j = steps[p]
                if j in uniforms and not (p == pos and first_drawn):
                    cols[j][r] = _invert(plan.cdf(state, p), uniforms[j][r], self.cfg.target_cards[j])
                if p < len(steps) - 1:
                    state.add_(plan.moves[p].index_select(0, cols[j][r]))  # rows of `running`, ours alone
        return torch.stack([cols[j] for j in range(self.n_tgt)], 1)

    def sampling_weights(self, dev: torch.device) -> dict[str, list[torch.Tensor]]:
        """What ``sample`` reads, derived from the parameters once and kept until one changes (an
        optimizer step or ``load_state_dict`` bumps its version):

        - ``tables``: each input value's projection, one (vocabulary, H) table per input;
        - ``head``: per target, its (H, V) weight cut to its vocabulary, with its bias as one
          more row (H+1, V), for a matmul over trunk outputs with a column of ones (``addmm``
          would first copy the bias into every output row).
        """
        key = (str(dev), tuple(p._version for p in self.parameters()))
        cached = self.__dict__.get("_sampling_weights")
        if cached is not None and cached[0] == key:
            return cached[1]
        cards = list(self.cfg.context_cards) + list(self.cfg.target_cards)
        weights = {
            "tables": [self.contributions(torch.arange(c, device=dev)[:, None], k)[:, 0] for k, c in enumerate(cards)],
            "head": [torch.cat([self.head_w[j, :, :c], self.head_b[j, :c][None]]).contiguous()
                     for j, c in enumerate(self.cfg.target_cards)],
        }
        self.__dict__["_sampling_weights"] = (key, weights)
        return weights


class _Plan:
    """One ``sample`` call's view of the network, in the order its targets are drawn.

    A row's state before step ``p`` already holds the bias ``b1`` of the target drawn at ``p``:
    ``moves[p]`` (the projection table of that target's tokens plus the change of bias to the
    next target) carries it from one step to the next, so no step adds a bias by itself.
    """

    def __init__(self, net: BatchModel, steps: list[int], dev: torch.device):
        w = net.sampling_weights(dev)
        self.net, self.steps, self.tables, self.head = net, steps, w["tables"], w["head"]
        b1 = net.b1
        self.start = b1[steps[0]].clone()
        self.moves = [w["tables"][net.n_ctx + j] + (b1[steps[p + 1]] - b1[j] if p + 1 < len(steps) else 0)
                      for p, j in enumerate(steps)]
        self.exact_max = dev.type != "cpu"  # a per-row max is a pass over the logits on CPU; free on a GPU
        self._outputs: dict[int, torch.Tensor] = {}

    def _output(self, rows: int, dev: torch.device) -> torch.Tensor:
        """A (rows, H+1) buffer whose last column is 1, for trunk outputs (reused across steps)."""
        if rows not in self._outputs:
            self._outputs[rows] = torch.ones(rows, self.net.cfg.hidden + 1, device=dev)
        return self._outputs[rows]

    def cdf(self, state: torch.Tensor, p: int) -> torch.Tensor:
        """Unnormalised CDF over the vocabulary of the target drawn at step ``p``, one row per state
        (``forward``'s trunk and head in eval mode)."""
        net, h, j = self.net, self.net.cfg.hidden, self.steps[p]
        out = self._output(state.shape[0], state.device)
        z1 = _gelu_(F.layer_norm(state, (h,), net.norm.weight, net.norm.bias, net.norm.eps))
        torch.add(_gelu_(torch.addmm(net.b2[j], z1, net.w2[j])), z1, out=out[:, :h])
        logits = torch.mm(out, self.head[j])
        if self.exact_max:
            return logits.sub_(logits.amax(-1, keepdim=True)).exp_().cumsum_(-1)
        # without a per-row max, exp of the logits is exact unless one overflows or all of a row underflow
        cdf = logits.exp_().cumsum_(-1)
        total = cdf[:, -1]
        low, high = torch.aminmax(total)
        if not (float(low) > 1e-30 and float(high) < math.inf):
            bad = ((total > 1e-30) & (total < math.inf)).logical_not_().nonzero().squeeze(1)
            redo = torch.mm(out.index_select(0, bad), self.head[j])
            cdf.index_copy_(0, bad, redo.sub_(redo.amax(-1, keepdim=True)).exp_().cumsum_(-1))
        return cdf


_gelu_ = torch._C._nn.gelu_
"""GELU in place: the sampler's activations are its own, so it spares a tensor per step."""


def _uniforms(keys: list[tuple[int, int]], j: int, dev: torch.device) -> torch.Tensor:
    """For each (key, rows) in turn, the first ``rows`` uniforms of target ``j``'s stream under ``key``."""
    out = np.empty(sum(rows for _, rows in keys), np.float32)
    at = 0
    for key, rows in keys:
        np.random.Generator(np.random.PCG64(np.random.SeedSequence([key, j]))).random(
            rows, dtype=np.float32, out=out[at:at + rows])
        at += rows
    return torch.from_numpy(out).to(dev)


def _invert(cdf: torch.Tensor, u: torch.Tensor, card: int) -> torch.Tensor:
    """Tokens by inverse CDF: one uniform per row of an unnormalised ``cdf``."""
    return torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).squeeze(1).clamp_(max=card - 1)
