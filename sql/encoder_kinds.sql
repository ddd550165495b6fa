-- Choose each profiled column's encoder from its DuckDB type and profile.
-- Users may UPDATE duck_synth.columns SET encoder = ... before training to override the choice.
UPDATE duck_synth.columns SET encoder = CASE
    WHEN duckdb_type = 'BOOLEAN' THEN 'boolean'
    WHEN duckdb_type IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT',
                         'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT',
                         'FLOAT', 'DOUBLE') OR duckdb_type LIKE 'DECIMAL%' THEN 'numeric'
    WHEN duckdb_type IN ('DATE', 'TIME', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE',
                         'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS') THEN 'datetime'
    WHEN duckdb_type = 'UUID' THEN 'uuid'
    WHEN duckdb_type LIKE 'ENUM(%' THEN 'categorical'
    WHEN duckdb_type = 'VARCHAR' THEN
        CASE WHEN cardinality <= $max_categories
                  AND cardinality <= greatest(20, 0.5 * (1 - null_rate) * $n_rows)
             THEN 'categorical' ELSE 'text' END
    ELSE 'unsupported'
END
WHERE model = $model;
