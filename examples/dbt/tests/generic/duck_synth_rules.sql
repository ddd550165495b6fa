{#- Fails with one row per (record, failed rule) of the model's validator rules (duck_synth.rules). -#}
{% test duck_synth_rules(model, duck_synth_model) %}
select record_index, rule from synthetic_violations('{{ duck_synth_model }}', '{{ model }}')
{% endtest %}
