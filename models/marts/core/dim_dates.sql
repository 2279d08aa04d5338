-- One row per calendar day from var('date_spine_start') to var('date_spine_end') (exclusive):
-- the calendar the metrics layer (MetricFlow's time spine) fills days, weeks and months from.
-- Plain SQL on both engines and no query at compile time (dbt.date_spine would run one to
-- count the days, which the offline BigQuery compile cannot): the day count is computed here.
{%- set start = modules.datetime.date.fromisoformat(var('date_spine_start')) -%}
{%- set end = modules.datetime.date.fromisoformat(var('date_spine_end')) -%}
{%- set day_count = (end - start).days -%}
{%- if day_count <= 0 or day_count > 100000 -%}
    {{ exceptions.raise_compiler_error("dim_dates: date_spine_end must be after date_spine_start, within 100000 days") }}
{%- endif %}

with

digits as (
    {% for digit in range(10) -%}
        select {{ digit }} as digit
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

day_numbers as (
    select
        ones.digit
        + 10 * tens.digit
        + 100 * hundreds.digit
        + 1000 * thousands.digit
        + 10000 * ten_thousands.digit as day_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

final as (
    select
        cast(
            {{ dbt.dateadd("day", "day_number", "cast('" ~ var('date_spine_start') ~ "' as date)") }}
            as date
        ) as date_day
    from day_numbers
    where day_number < {{ day_count }}
)

select * from final
