-- Split a model's modelled columns into batches of at most $batch_size columns, as evenly as possible,
-- in source order (the first batches take the extra column when the split is uneven); the column
-- $first (the model's target, or NULL) comes before all others.
INSERT INTO duck_synth.batches (model, batch_index, column_name, position)
WITH cols AS (
    SELECT column_name,
           row_number() OVER (ORDER BY column_name IS NOT DISTINCT FROM $first DESC, ordinal) - 1 AS i,
           count(*) OVER () AS k
    FROM duck_synth.columns
    WHERE model = $model AND encoder <> 'unsupported'
), sized AS (
    SELECT column_name, i, k, CAST(ceil(k / $batch_size) AS BIGINT) AS m FROM cols
), split AS (
    -- m batches over k columns: the first (k % m) batches get (k // m) + 1 columns, the rest k // m.
    SELECT column_name, i,
           CASE WHEN i < (k % m) * (k // m + 1) THEN i // (k // m + 1)
                ELSE (k % m) + (i - (k % m) * (k // m + 1)) // (k // m) END AS batch_index
    FROM sized
)
SELECT $model, batch_index, column_name,
       row_number() OVER (PARTITION BY batch_index ORDER BY i) - 1 AS position
FROM split
ORDER BY batch_index, position;
