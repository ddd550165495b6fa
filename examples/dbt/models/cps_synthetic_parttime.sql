-- depends_on: {{ ref('cps_model') }}
-- Conditional generation: one record per seed row, keeping its values (here: part-time workers in the west).
select * from generate_synthetic_seeded('cps', '{{ ref("parttime_seeds") }}', seed := 7)
