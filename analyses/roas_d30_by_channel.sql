-- User Acquisition: d30 ROAS per paid acquisition channel, over the cohorts old enough for
-- their d30 margin to be final (margin_usd_d30 is NULL until then).
-- Compile: dbt compile -s roas_d30_by_channel; run the SQL in target/compiled/.
with

fct_ua_cohorts as (
    select * from {{ ref('fct_ua_cohorts') }}
),

matured_paid_cohorts as (
    select *
    from fct_ua_cohorts
    where
        is_paid_channel
        and margin_usd_d30 is not null
        and spend_usd > 0
),

final as (
    select
        acquisition_channel,
        min(cohort_date) as first_cohort_date,
        max(cohort_date) as last_cohort_date,
        sum(users) as users, -- noqa: RF04
        sum(spend_usd) as spend_usd,
        sum(margin_usd_d30) as margin_usd_d30,
        cast(sum(margin_usd_d30) as {{ type_float64() }}) / cast(sum(spend_usd) as {{ type_float64() }}) as roas_d30
    from matured_paid_cohorts
    group by acquisition_channel
)

select * from final
order by roas_d30 desc
