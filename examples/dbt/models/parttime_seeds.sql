select 'yes' as parttime, 'west' as region from range(200)
