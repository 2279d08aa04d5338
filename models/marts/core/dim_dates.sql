-- One row per calendar day from var('date_spine_start') to var('date_spine_end') (exclusive):
-- the calendar the metrics layer (MetricFlow's time spine) fills days, weeks and months from.
with

days as (
    {{ dbt.date_spine(
        "day",
        "cast('" ~ var('date_spine_start') ~ "' as date)",
        "cast('" ~ var('date_spine_end') ~ "' as date)",
    ) }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
