-- The real data breaks a rule that the synthetic data keeps (some CPS rows have negative experience):
-- reported as a warning, not a failure. synthetic_violations() checks any table against a model's rules.
{{ config(severity='warn') }}
-- depends_on: {{ ref('cps_model') }}
select record_index, rule from synthetic_violations('cps', '{{ ref("cps1988_sample") }}')
