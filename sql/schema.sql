-- duck_synth metadata: plain tables in the user's database (schema duck_synth).
-- Users may read all of them and edit duck_synth.batches / duck_synth.columns.encoder before training.
CREATE SCHEMA IF NOT EXISTS duck_synth;

CREATE TABLE IF NOT EXISTS duck_synth.models (
    model VARCHAR NOT NULL,             -- model name
    source_table VARCHAR NOT NULL,      -- table or view the model learns from (as the user named it)
    status VARCHAR NOT NULL,            -- 'planned' (metadata only) or 'trained'
    batch_size INTEGER,                 -- columns per batch asked for when planned
    n_rows BIGINT,                      -- rows in the source when profiled
    seed BIGINT,                        -- training seed
    device VARCHAR,                     -- device training ran on
    training VARCHAR,                   -- JSON: epochs, losses, seconds per batch
    duck_synth_version VARCHAR NOT NULL,
    created_at TIMESTAMP DEFAULT current_timestamp,
    trained_at TIMESTAMP,
    holdout DOUBLE DEFAULT 0,           -- share of source rows held out (never profiled or trained on)
    holdout_rows BIGINT DEFAULT 0,      -- rows held out when trained (the split is re-derived from row contents)
    target VARCHAR                      -- column modelled first (train(target=)); evaluate's default target
);

CREATE TABLE IF NOT EXISTS duck_synth.columns (
    model VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    ordinal INTEGER NOT NULL,           -- 0-based position in the source
    duckdb_type VARCHAR NOT NULL,       -- the source's type, restored on output
    encoder VARCHAR NOT NULL,           -- numeric | datetime | boolean | categorical | text | uuid | unsupported
    null_rate DOUBLE,
    cardinality BIGINT,                 -- approximate distinct non-NULL values
    min_value VARCHAR,
    max_value VARCHAR,
    lower_bound DOUBLE,                 -- protected bounds (numeric/datetime), set by training
    upper_bound DOUBLE,
    encoder_state VARCHAR               -- JSON, set by training
);

CREATE TABLE IF NOT EXISTS duck_synth.batches (
    model VARCHAR NOT NULL,
    batch_index INTEGER NOT NULL,       -- 0-based; batch k is conditioned on batches < k
    column_name VARCHAR NOT NULL,
    position INTEGER NOT NULL           -- order of the column inside its batch
);

CREATE TABLE IF NOT EXISTS duck_synth.artifacts (
    model VARCHAR NOT NULL,
    batch_index INTEGER NOT NULL,
    config VARCHAR NOT NULL,            -- JSON: network config, context and target columns
    weights BLOB NOT NULL,              -- safetensors bytes (never pickle)
    sha256 VARCHAR NOT NULL             -- checksum of weights || config
);

CREATE TABLE IF NOT EXISTS duck_synth.rules (
    model VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,              -- rule name, unique per model
    predicate VARCHAR NOT NULL,         -- SQL boolean expression over one record's columns (CHECK semantics:
                                        -- a record fails only when it is FALSE; NULL passes)
    origin VARCHAR NOT NULL DEFAULT 'user',  -- 'constraint' (source CHECK / NOT NULL), 'profile' (value domains), 'user'
    enabled BOOLEAN NOT NULL DEFAULT true,   -- false keeps a rule without enforcing it
    created_at TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS duck_synth.reports (
    model VARCHAR NOT NULL,             -- model that generated the scored table
    table_name VARCHAR NOT NULL,        -- the synthetic table scored
    holdout_table VARCHAR,              -- real rows the model never saw, if given
    target VARCHAR,                     -- column predicted for the utility score, if given
    seed BIGINT NOT NULL,               -- seed of the samples and classifiers (same seed => same numbers)
    report VARCHAR NOT NULL,            -- JSON: every figure of the report (ds.evaluate / duck-synth report)
    created_at TIMESTAMP DEFAULT current_timestamp
);
