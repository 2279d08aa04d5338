-- fct_ua_cohorts' margin to date equals fct_task_completions' margin of the users with a signup
-- record, cohort by cohort (no user is lost between the fact and the cohorts: guarantee 12 of
-- docs/guarantees.md). Returns the cohorts whose margin differs.
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

fct_ua_cohorts as (
    select * from {{ ref('fct_ua_cohorts') }}
),

fact_margin as (
    select
        signups.signup_date as cohort_date,
        signups.acquisition_channel,
        signups.country,
        signups.platform,
        sum(completions.margin_usd) as margin_usd
    from fct_task_completions as completions
    inner join stg_offerwall__users as signups
        on completions.user_id = signups.user_id
    group by signups.signup_date, signups.acquisition_channel, signups.country, signups.platform
),

final as (
    select
        fact_margin.*,
        cohorts.margin_usd_to_date
    from fact_margin
    left join fct_ua_cohorts as cohorts
        on fact_margin.cohort_date = cohorts.cohort_date
        and fact_margin.acquisition_channel = cohorts.acquisition_channel
        and fact_margin.country = cohorts.country
        and fact_margin.platform = cohorts.platform
    where cohorts.margin_usd_to_date is null
        or cohorts.margin_usd_to_date <> fact_margin.margin_usd
)

select * from final
