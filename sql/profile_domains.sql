-- Value domains from a model's profile, captured as validator rules (origin 'profile'):
-- numeric and datetime columns keep to the source's [min, max]; categorical VARCHAR columns whose whole
-- vocabulary was kept (no rare categories collapsed) keep to that vocabulary.
SELECT column_name, duckdb_type, encoder, min_value, max_value,
       CASE WHEN encoder = 'categorical' AND NOT CAST(encoder_state->>'$.state.has_rare' AS BOOLEAN)
            THEN CAST(encoder_state->'$.state.categories' AS VARCHAR[]) END AS categories
FROM duck_synth.columns
WHERE model = $model
  AND ((encoder IN ('numeric', 'datetime') AND min_value IS NOT NULL AND max_value IS NOT NULL)
       OR (encoder = 'categorical' AND duckdb_type = 'VARCHAR' AND encoder_state IS NOT NULL))
ORDER BY ordinal
