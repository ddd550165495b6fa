"""Stored models are data, never code: tampered, truncated or foreign artifacts are refused clearly."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

import duck_synth as ds
from duck_synth.artifacts import FORMAT_VERSION, load_model

PACKAGE = Path(ds.__file__).parent


@pytest.fixture
def model_db(trained_db, tmp_path):
    path = tmp_path / "copy.duckdb"
    shutil.copy(trained_db, path)
    con = ds.connect(str(path))
    yield con
    con.close()


def _rewrite(con, batch: int, *, weights: bytes | None = None, config: str | None = None, rehash: bool) -> None:
    old_config, old_weights = con.execute(
        "SELECT config, weights FROM duck_synth.artifacts WHERE model = 'diamonds' AND batch_index = ?",
        [batch]).fetchall()[0]
    config = old_config if config is None else config
    weights = bytes(old_weights) if weights is None else weights
    update = "UPDATE duck_synth.artifacts SET config = ?, weights = ?"
    params: list = [config, weights]
    if rehash:  # an editor who also fixes the checksum
        update += ", sha256 = ?"
        params.append(hashlib.sha256(weights + config.encode()).hexdigest())
    con.execute(update + " WHERE model = 'diamonds' AND batch_index = ?", params + [batch])


def _weights(con) -> bytes:
    return bytes(con.execute("SELECT weights FROM duck_synth.artifacts WHERE model = 'diamonds' AND batch_index = 1")
                 .fetchall()[0][0])


def _refused(con, pattern: str, counts) -> None:
    counts["bad_inputs"] += 1
    with pytest.raises(ds.ArtifactError, match=pattern):
        ds.generate(con, "diamonds", n=10, seed=0)
    # through SQL too: the same message, no traceback
    with pytest.raises(Exception, match=pattern):
        con.sql("SELECT * FROM generate_synthetic('diamonds', 10, seed := 0)").fetchall()


def test_one_flipped_byte_fails_the_checksum(model_db, counts):
    w = bytearray(_weights(model_db))
    w[len(w) // 2] ^= 0x01
    _rewrite(model_db, 1, weights=bytes(w), rehash=False)
    _refused(model_db, r"model 'diamonds' batch 1: stored weights fail their checksum \(tampered or truncated\)", counts)


def test_a_cached_model_is_reused_until_its_stored_bytes_change(model_db, counts):
    first = load_model(model_db, "diamonds")
    assert [b.model for b in load_model(model_db, "diamonds").batches] == [b.model for b in first.batches]
    assert ds.generate(model_db, "diamonds", n=10, seed=0).height == 10  # served from the cache
    w = bytearray(_weights(model_db))
    w[len(w) // 2] ^= 0x01
    _rewrite(model_db, 1, weights=bytes(w), rehash=False)  # the cached copy must not hide the tampering
    _refused(model_db, r"model 'diamonds' batch 1: stored weights fail their checksum", counts)


def test_the_first_generate_after_train_uses_the_network_training_stored(db, diamonds, monkeypatch, counts):
    from duck_synth import artifacts
    from tests.conftest import load_frame

    load_frame(db, "gems", diamonds.head(500))
    ds.train(db, "gems", batch_size=5, epochs=1, seed=0, holdout=0)
    rebuilt = []
    real = artifacts._load_batch
    monkeypatch.setattr(artifacts, "_load_batch", lambda *a: rebuilt.append(a[1]) or real(*a))
    first = ds.generate(db, "gems", n=300, seed=0)
    assert first.height == 300 and rebuilt == []  # nothing parsed or rebuilt
    assert all(not b.model.training for b in load_model(db, "gems").batches)
    artifacts._loaded.clear()
    assert ds.generate(db, "gems", n=300, seed=0).equals(first) and rebuilt == [0, 1]  # the stored bytes agree
    rebuilt.clear()
    db.execute("UPDATE duck_synth.artifacts SET sha256 = 'x' WHERE model = 'gems' AND batch_index = 1")
    counts["bad_inputs"] += 1
    with pytest.raises(ds.ArtifactError, match=r"model 'gems' batch 1: stored weights fail their checksum"):
        ds.generate(db, "gems", n=20, seed=0)
    assert rebuilt[-1] == 1  # a changed row is parsed and checked again


def test_truncated_weights_fail_the_checksum_and_rehashed_ones_are_corrupt(model_db, counts):
    w = _weights(model_db)
    _rewrite(model_db, 1, weights=w[: len(w) // 3], rehash=False)
    _refused(model_db, r"batch 1: stored weights fail their checksum", counts)
    _rewrite(model_db, 1, weights=w[: len(w) // 3], rehash=True)
    _refused(model_db, r"model 'diamonds' batch 1: stored artifact is corrupt", counts)


@pytest.mark.parametrize("config", ["[]", "not json", '{"format_version": 1}', '{"format_version": 1, '
                                    '"model_config": {"hidden": "big"}, "targets": [], "context": []}'])
def test_an_edited_config_with_a_fixed_checksum_is_corrupt_not_a_traceback(model_db, counts, config):
    _rewrite(model_db, 1, config=config, rehash=True)
    _refused(model_db, r"model 'diamonds' batch 1: stored artifact is corrupt", counts)


def test_a_model_from_an_incompatible_version_is_refused_naming_both_versions(model_db, counts):
    config = json.loads(model_db.execute(
        "SELECT config FROM duck_synth.artifacts WHERE model = 'diamonds' AND batch_index = 0").fetchall()[0][0])
    assert config["duck_synth_version"] == ds.__version__ and config["format_version"] == FORMAT_VERSION
    config.update(format_version=FORMAT_VERSION + 1, duck_synth_version="9.9.9")
    _rewrite(model_db, 0, config=json.dumps(config), rehash=True)
    _refused(model_db, rf"model 'diamonds' was stored by duck_synth 9\.9\.9 in artifact format {FORMAT_VERSION + 1};"
                       rf" this duck_synth {re.escape(ds.__version__)} reads format {FORMAT_VERSION} only:"
                       r" retrain the model", counts)


def test_a_model_stored_without_its_weights_is_refused(model_db, counts):
    model_db.execute("DELETE FROM duck_synth.artifacts WHERE model = 'diamonds'")
    counts["bad_inputs"] += 1
    with pytest.raises(ds.ArtifactError, match="model 'diamonds' has no stored weights"):
        load_model(model_db, "diamonds")


def test_no_code_path_can_unpickle_or_eval():
    """Loading reads JSON and safetensors only; nothing in the package can run stored code."""
    forbidden = re.compile(r"\bimport pickle\b|\bcloudpickle\b|\bmarshal\b|\bdill\b|torch\.load\(|"
                           r"(?<![\w.])eval\(|(?<![\w.])exec\(|weights_only\s*=\s*False")
    hits = [f"{p.relative_to(PACKAGE)}:{n}: {line.strip()}" for p in sorted(PACKAGE.rglob("*.py"))
            for n, line in enumerate(p.read_text().splitlines(), 1) if forbidden.search(line)]
    assert hits == []
