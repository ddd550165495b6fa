-- depends_on: {{ ref('cps_model') }}
-- 1,000 synthetic records, named and typed like the seed, valid under the model's rules.
select * from generate_synthetic('cps', 1000, seed := 42)
