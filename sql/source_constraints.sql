-- CHECK and NOT NULL constraints of a model's source table; captured as validator rules (origin 'constraint').
SELECT constraint_type, expression, constraint_column_names, constraint_name
FROM duckdb_constraints()
WHERE database_name = $database AND schema_name = $schema AND table_name = $table
  AND constraint_type IN ('CHECK', 'NOT NULL')
ORDER BY constraint_index
