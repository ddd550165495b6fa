-- Generated records, typed like the source, plus one flag per rule that is TRUE where the record fails it.
-- CHECK semantics: only a FALSE predicate fails (NULL passes). Rejected records are sampled again.
SELECT *, {flags}
FROM ({records}) AS duck_synth_record
