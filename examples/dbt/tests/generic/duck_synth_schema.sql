{#- Fails when the table's columns or types differ from the duck_synth model's source table. -#}
{% test duck_synth_schema(model, duck_synth_model) %}
with expected as (
    select column_name, duckdb_type as column_type from duck_synth.columns
    where model = '{{ duck_synth_model }}'
), actual as (
    select column_name, column_type from (describe select * from {{ model }})
)
select coalesce(e.column_name, a.column_name) as column_name, e.column_type as expected, a.column_type as actual
from expected e full outer join actual a using (column_name)
where e.column_type is distinct from a.column_type
{% endtest %}
