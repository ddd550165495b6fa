-- synthetic_violations(model, table): one row per (record, failed rule) of any table.
-- record_index is the record's 0-based position in the scan; record is the whole row as a STRUCT.
-- CHECK semantics: a record fails a rule only when the predicate is FALSE (NULL passes).
SELECT checked.record_index, failed.rule, checked.record
FROM (
    SELECT row_number() OVER () - 1 AS record_index, duck_synth_record AS record, {flags}
    FROM {relation} AS duck_synth_record
) AS checked,
LATERAL (VALUES {failures}) AS failed(rule, is_failed)
WHERE failed.is_failed
