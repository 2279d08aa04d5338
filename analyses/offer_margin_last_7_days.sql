-- Offer Management: recognised margin per offer over the last 7 days of data (the 7 days up to
-- the warehouse's as-of date, not the machine clock), largest margin first.
-- Compile: dbt compile -s offer_margin_last_7_days; run the SQL in target/compiled/.
with

fct_offer_daily_performance as (
    select * from {{ ref('fct_offer_daily_performance') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

last_7_days as (
    select performance.*
    from fct_offer_daily_performance as performance
    cross join int_warehouse_as_of as as_of
    where {{ days_between('performance.completed_date', 'as_of.as_of_date') }} between 0 and 6
),

final as (
    select
        offer_id,
        max(offer_name) as offer_name,
        max(advertiser) as advertiser,
        sum(completions) as completions,
        sum(credited_completions) as credited_completions,
        sum(revenue_usd) as revenue_usd,
        sum(margin_usd) as margin_usd,
        case
            when sum(revenue_usd) <> 0
                then cast(sum(margin_usd) as {{ type_float64() }}) / cast(sum(revenue_usd) as {{ type_float64() }})
        end as margin_pct
    from last_7_days
    group by offer_id
)

select * from final
order by margin_usd desc
