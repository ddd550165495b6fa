-- ds.validate(model, table): rows, rows failing at least one rule, and rows failing each rule.
-- CHECK semantics: a record fails a rule only when the predicate is FALSE (NULL passes).
SELECT count(*) AS total_rows,
       count(*) FILTER (WHERE {any_failed}) AS failed_rows{per_rule}
FROM (SELECT {flags} FROM {relation} AS duck_synth_record)
