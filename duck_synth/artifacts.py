"""Trained models stored inside the DuckDB file: safetensors weights + JSON, with checksums.

Loading never executes code: weights are safetensors, configs and encoder states are JSON.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from . import __version__, encoders
from .errors import ArtifactError, ModelNotFound
from .model import BatchModel, ModelConfig

if TYPE_CHECKING:
    from .catalog import CatalogState

FORMAT_VERSION = 1
"""Bumped whenever stored artifacts change incompatibly; older models are then refused."""


@dataclass(frozen=True)
class ColumnSpec:
    """A modelled column: its source name and type and its fitted encoder."""

    name: str
    ordinal: int
    duckdb_type: str
    kind: str
    state: Any

    @property
    def encoder(self) -> encoders.Encoder:
        return encoders.get(self.kind)


@dataclass(frozen=True)
class BatchArtifact:
    """One batch's network and which columns it reads (context) and writes (targets)."""

    index: int
    targets: list[str]
    context: list[str]
    model: BatchModel


@dataclass(frozen=True)
class TrainedModel:
    """Everything generation needs, rebuilt from the database."""

    name: str
    source_table: str
    source_columns: list[tuple[str, str]]  # every source column (name, DuckDB type), in order
    columns: dict[str, ColumnSpec]  # modelled columns by name
    batches: list[BatchArtifact]


def _checksum(weights: bytes, config: str) -> str:
    return hashlib.sha256(weights + config.encode("utf-8")).hexdigest()


def save_batch(con: duckdb.DuckDBPyConnection, model: str, art: BatchArtifact) -> None:
    """Insert one batch's weights and config (inside the caller's transaction)."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in art.model.state_dict().items()}
    weights = save_safetensors(state)
    config = json.dumps({
        "format_version": FORMAT_VERSION,
        "duck_synth_version": __version__,
        "model_config": art.model.cfg.to_dict(),
        "targets": art.targets,
        "context": art.context,
    })
    con.execute(
        "INSERT INTO duck_synth.artifacts (model, batch_index, config, weights, sha256) VALUES (?, ?, ?, ?, ?)",
        [model, art.index, config, weights, _checksum(weights, config)],
    )
    # the first generate after training finds the network loaded (keyed by the bytes just stored)
    key = tuple(con.execute(f"SELECT batch_index, config, sha256, {_FINGERPRINT} FROM duck_synth.artifacts"
                            " WHERE model = ? AND batch_index = ?", [model, art.index]).fetchall()[0])
    net = BatchModel(art.model.cfg)
    net.load_state_dict(state)
    device = "cuda" if next(art.model.parameters()).device.type == "cuda" else "cpu"
    net = net.to(device).eval()
    with torch.no_grad():
        net.sampling_weights(torch.device(device))  # and with its sampling tables already derived
    _remember((*key, device), BatchArtifact(art.index, art.targets, art.context, net))


def _load_batch(model: str, index: int, config: str, weights: bytes, sha: str, device: str) -> BatchArtifact:
    if _checksum(weights, config) != sha:
        raise ArtifactError(f"model {model!r} batch {index}: stored weights fail their checksum (tampered or truncated)")
    try:
        meta = json.loads(config)
        if not isinstance(meta, dict):
            raise ValueError("the config is not a JSON object")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"model {model!r} was stored by duck_synth {meta.get('duck_synth_version', 'of unknown version')}"
                f" in artifact format {meta.get('format_version')!r}; this duck_synth {__version__} reads format"
                f" {FORMAT_VERSION} only: retrain the model with this version"
            )
        targets, context = [str(c) for c in meta["targets"]], [str(c) for c in meta["context"]]
        net = BatchModel(ModelConfig.from_dict(meta["model_config"]))
        net.load_state_dict(load_safetensors(bytes(weights)))
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the stored bytes make a parser raise (SafetensorError...)
        raise ArtifactError(f"model {model!r} batch {index}: stored artifact is corrupt: {exc}") from exc
    net.to(device).eval()
    return BatchArtifact(index, targets, context, net)


LOADED_CACHE_BYTES = 256 * 2**20
"""Most parameter bytes of loaded batch networks kept for the next ``load_model`` (least recently used go first)."""

_FINGERPRINT = "hash(weights), octet_length(weights)"
_loaded: OrderedDict[tuple, tuple[BatchArtifact, int]] = OrderedDict()
_loaded_lock = threading.Lock()


def _load_batches(con: duckdb.DuckDBPyConnection, model: str, device: str) -> list[BatchArtifact]:
    """The model's batch networks, rebuilt from their artifacts or taken from the cache.

    A cached network is keyed by what identifies its stored bytes: the batch index, the config,
    the recorded checksum and DuckDB's own hash and length of the weights blob. Weights edited in
    the table (even with a matching checksum) change the key and are loaded, and checked, again.
    Generation never changes a network, so threads may share one.
    """
    keys = con.execute(
        f"SELECT batch_index, config, sha256, {_FINGERPRINT} FROM duck_synth.artifacts WHERE model = ?"
        " ORDER BY batch_index", [model]).fetchall()
    with _loaded_lock:
        hits = [_loaded.get((*k, device)) for k in keys]
        for k, hit in zip(keys, hits):
            if hit is not None:
                _loaded.move_to_end((*k, device))
    if all(hits):
        return [art for art, _ in hits]
    rows = con.execute(
        f"SELECT batch_index, config, sha256, {_FINGERPRINT}, weights FROM duck_synth.artifacts WHERE model = ?"
        " ORDER BY batch_index", [model]).fetchall()
    batches = []
    for *key, weights in rows:
        index, config, sha = key[:3]
        art = _load_batch(model, index, config, weights, sha, device)
        _remember((*key, device), art)
        batches.append(art)
    return batches


def _remember(key: tuple, art: BatchArtifact) -> None:
    size = sum(p.numel() * p.element_size() for p in art.model.parameters())
    with _loaded_lock:
        _loaded[key] = (art, size)
        while sum(n for _, n in _loaded.values()) > LOADED_CACHE_BYTES and len(_loaded) > 1:
            _loaded.popitem(last=False)


def load_model(
    con: duckdb.DuckDBPyConnection, name: str, device: str = "cpu", partial: bool = False,
    state: CatalogState | None = None,
) -> TrainedModel:
    """Rebuild a trained model from the duck_synth tables.

    With ``partial``, a planned model with only some batches trained loads too (just those
    batches); the gretel-compatible layer generates batch by batch that way. ``state`` (from
    ``catalog_state``) spares the query for whether the duck_synth tables exist.

    Raises:
        ModelNotFound: no trained model of that name.
        ArtifactError: the stored artifact is corrupt or from an incompatible version.
    """
    from .catalog import fetch_one, has_schema

    row = None
    if has_schema(con, state):
        row = fetch_one(con, "SELECT source_table, status FROM duck_synth.models WHERE model = ?", [name])
    if row is None or (row[1] != "trained" and not (partial and row[1] == "planned")):
        known = trained_models(con)
        hint = f"; trained models: {', '.join(map(repr, known))}" if known else "; no model is trained in this database"
        state = " is planned but not trained" if row else " does not exist"
        raise ModelNotFound(f"model {name!r}{state}{hint}")
    cols = con.execute(
        "SELECT column_name, ordinal, duckdb_type, encoder, encoder_state FROM duck_synth.columns"
        " WHERE model = ? ORDER BY ordinal",
        [name],
    ).fetchall()
    specs = {}
    for col, ordinal, dtype, kind, text in cols:
        if text is not None:
            specs[col] = ColumnSpec(col, ordinal, dtype, kind, _encoder_state(text))
    batches = _load_batches(con, name, device)
    if not batches:
        if partial:
            return TrainedModel(name, row[0], [(c[0], c[2]) for c in cols], specs, [])
        raise ArtifactError(f"model {name!r} has no stored weights in duck_synth.artifacts")
    missing = [c for b in batches for c in b.targets + b.context if c not in specs]
    if missing:
        raise ArtifactError(f"model {name!r}: encoder state missing for columns {missing!r}")
    return TrainedModel(name, row[0], [(c[0], c[2]) for c in cols], specs, batches)


_STATES: dict[str, Any] = {}
_STATES_MAX = 4096


def _encoder_state(text: str) -> Any:
    """The encoder state stored as ``text``, parsed once per distinct text (states are frozen and
    never changed after loading, so models loaded from the same text may share one)."""
    state = _STATES.get(text)
    if state is None:
        if len(_STATES) >= _STATES_MAX:
            _STATES.clear()
        state = _STATES[text] = encoders.state_from_json(text)[1]
    return state


def trained_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the trained models in this database."""
    from .catalog import has_schema

    if not has_schema(con):
        return []
    return [r[0] for r in con.execute(
        "SELECT model FROM duck_synth.models WHERE status = 'trained' ORDER BY model").fetchall()]
