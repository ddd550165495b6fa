-- Bind one rule against a model's columns without reading data. A WHERE clause refuses aggregates and
-- window functions, so only per-record predicates pass; the caller checks that the type is BOOLEAN.
DESCRIBE SELECT ({expression}) AS duck_synth_rule
FROM (SELECT {typed_nulls}) AS duck_synth_record
WHERE ({expression})
