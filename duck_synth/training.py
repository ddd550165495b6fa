"""Fit one batch model on its token matrix: minibatches, AdamW, plateau LR decay, early stopping."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .errors import InvalidArgument
from .model import BatchModel, ModelConfig, order_ranks

log = logging.getLogger(__name__)

ANY_ORDER_PROB = 0.25
"""Share of steps trained on a random column order (the rest use the canonical order)."""


TRAIN_MAX_ROWS = 1_000_000
"""Training reads at most this many rows (a seeded reservoir sample of larger tables), so a
table far larger than memory trains in bounded memory; profiling still sees every row."""


@dataclass(frozen=True)
class TrainConfig:
    """Training knobs; ``epochs=None`` means automatic (a step budget plus early stopping).

    ``max_rows`` caps the rows read for training (None: all of them).

    With a fixed ``epochs``, training runs them all unless ``early_stopping`` is set, which
    makes ``epochs`` a maximum (gretel's configs work that way).
    """

    epochs: int | None = None
    early_stopping: bool = False
    seed: int = 0
    device: str = "cpu"
    lr: float = 3e-3  # the rate at hidden width LR_WIDTH and up; narrower networks get more (learning_rate)
    patience: int = 6
    val_fraction: float = 0.1
    any_order_prob: float = ANY_ORDER_PROB
    max_rows: int | None = TRAIN_MAX_ROWS

    def __post_init__(self) -> None:
        if self.max_rows is not None and (isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int)
                                          or self.max_rows < 1):
            raise InvalidArgument(f"max_rows must be a positive integer or None, got {self.max_rows!r}")
        if self.epochs is not None and (not isinstance(self.epochs, int) or self.epochs < 1):
            raise InvalidArgument(f"epochs must be a positive integer or None, got {self.epochs!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 1:
            raise InvalidArgument(f"early stopping patience must be a positive integer, got {self.patience!r}")


@dataclass(frozen=True)
class Progress:
    """One epoch of one batch, as reported to a progress callback."""

    batch: int
    n_batches: int
    epoch: int
    epochs: int
    loss: float
    val_loss: float | None
    seconds: float


@dataclass(frozen=True)
class FitResult:
    """What training one batch produced."""

    model: BatchModel
    epochs_run: int
    best_val_loss: float | None
    train_loss: float
    seconds: float


def resolve_device(device: str) -> str:
    """'auto' picks CUDA when present, else CPU; an explicit 'cuda' without a GPU is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidArgument("device 'cuda' was asked for but no CUDA GPU is available")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InvalidArgument(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return device


HIDDEN_128_ROWS = 100_000
"""Tables this long or longer get hidden width 128; shorter ones 64, or 32 when narrow (below)."""

HIDDEN_32_COLUMNS = 20
"""Tables under ``HIDDEN_128_ROWS`` rows with at most this many modelled columns get hidden width
32, at the learning rate ``learning_rate`` gives it (twice width 64's). mlc_churn (4,000 x 20),
cps1988 (22,524 x 7) and diamonds (43,152 x 10) kept their fidelity (diamonds' detection AUC rose
from 0.547 to 0.568) and generate 1.23-1.31x faster. A wider table lost quality at 32 (loans,
10,000 x 55: worst numeric shape 0.951 -> 0.918), so wider tables keep 64
(benchmarks/README.md, "Session 12: width 32 for small, narrow tables")."""


LR_WIDTH = 64
"""The hidden width at and above which ``TrainConfig.lr`` is used as given. A narrower network
trains at ``lr * LR_WIDTH / hidden``: Adam moves every weight by about the step size, so a
network with fewer hidden units changes its outputs less per step and needs a larger one (the
width rule of muP). At width 32 and the unscaled 3e-3, four fixed epochs on 1,500 mlc_churn rows
left the cross-batch correlation of day minutes and day charge at 0.73 and 0.69 (two seeds;
width 64: 0.91, 0.94); at 6e-3 it was 0.93 and 0.90 (benchmarks/README.md, "Session 12:
width 32 for small, narrow tables")."""


def learning_rate(lr: float, hidden: int) -> float:
    """The learning rate for a network of this hidden width, given the rate at ``LR_WIDTH``."""
    return lr * max(1.0, LR_WIDTH / hidden)


def size_for(n_rows: int, n_columns: int) -> tuple[int, int, int]:
    """(minibatch rows, hidden width, max epochs) scaled to the data size: ``n_rows`` read for
    training and ``n_columns`` modelled columns (in all batches)."""
    batch = int(np.clip(n_rows // 40, 64, 1024))
    if n_rows >= HIDDEN_128_ROWS:
        hidden = 128
    else:
        hidden = 32 if n_columns <= HIDDEN_32_COLUMNS else 64
    steps_per_epoch = max(1, math.ceil(n_rows / batch))
    max_epochs = int(np.clip(2000 // steps_per_epoch, 20, 150))
    return batch, hidden, max_epochs


def fit(
    tokens: np.ndarray,
    cfg: ModelConfig,
    tc: TrainConfig,
    minibatch: int,
    epochs: int,
    report: Callable[[int, float, float | None, float], None] | None = None,
) -> FitResult:
    """Train a BatchModel on ``tokens`` (N, S) and return the best weights seen on validation."""
    torch.manual_seed(tc.seed)
    gen = torch.Generator().manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    device = torch.device(tc.device)
    data = torch.as_tensor(tokens, dtype=torch.long)
    n = data.shape[0]
    n_val = int(n * tc.val_fraction) if n >= 50 else 0
    perm = torch.randperm(n, generator=gen)
    val, train = data[perm[:n_val]].to(device), data[perm[n_val:]].to(device)
    model = BatchModel(cfg).to(device)
    opt = _optimizer(model, learning_rate(tc.lr, cfg.hidden))
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    groups = cfg.target_groups
    columns = sorted(set(groups))
    canonical = order_ranks(groups, columns).to(device)
    autocast = device.type == "cuda"
    best, best_state, bad, start = math.inf, None, 0, time.perf_counter()
    epoch = train_loss = 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        # the epoch's loss is summed where it is computed and read once: reading it every step
        # would make the CPU wait for the GPU at each one instead of queueing the next
        total, steps = torch.zeros((), dtype=torch.float64, device=device), 0
        for idx in torch.randperm(train.shape[0], generator=gen).to(device).split(minibatch):
            ranks = canonical
            if len(columns) > 1 and rng.random() < tc.any_order_prob:
                ranks = order_ranks(groups, list(rng.permutation(columns))).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                loss = model.loss(train[idx], ranks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.detach()
            steps += 1
        train_loss = float(total) / max(1, steps)
        val_loss = _evaluate(model, val, canonical, autocast) if n_val else None
        if report:
            report(epoch, train_loss, val_loss, time.perf_counter() - start)
        monitored = val_loss if val_loss is not None else train_loss
        sched.step(monitored)
        if monitored < best - 1e-4:
            best, bad = monitored, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if (tc.epochs is None or tc.early_stopping) and bad >= tc.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(model, int(epoch), best if n_val else None, train_loss, time.perf_counter() - start)


def fit_in_worker(tokens: np.ndarray, cfg: dict, tc: TrainConfig, minibatch: int, epochs: int,
                  threads: int) -> tuple[dict[str, torch.Tensor], int, float | None, float, float, list[tuple]]:
    """``fit`` in a worker process on ``threads`` torch threads; returns what crosses back.

    Returns:
        (weights, epochs run, best validation loss, last training loss, seconds, the
        per-epoch ``(epoch, loss, val_loss, seconds)`` reports, to replay to a progress callback).
    """
    torch.set_num_threads(threads)
    history: list[tuple] = []
    result = fit(tokens, ModelConfig.from_dict(cfg), tc, minibatch, epochs, lambda *epoch: history.append(epoch))
    return (result.model.state_dict(), result.epochs_run, result.best_val_loss, result.train_loss, result.seconds,
            history)


def _optimizer(model: BatchModel, lr: float) -> torch.optim.Optimizer:
    """AdamW, fused where this torch build supports it (about 10% faster per step on CPU)."""
    try:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)


@torch.no_grad()
def _evaluate(model: BatchModel, val: torch.Tensor, ranks: torch.Tensor, autocast: bool) -> float:
    model.eval()
    total = 0.0
    for chunk in val.split(8192):
        with torch.autocast(val.device.type, dtype=torch.bfloat16, enabled=autocast):
            total += float(model.loss(chunk, ranks)) * chunk.shape[0]
    return total / val.shape[0]
