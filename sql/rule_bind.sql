-- Bind rules against a model's columns without reading data. A WHERE clause refuses aggregates and
-- window functions, so only per-record predicates pass; the caller checks that each type is BOOLEAN.
DESCRIBE SELECT {select}
FROM (SELECT {typed_nulls}) AS duck_synth_record
WHERE {where}
