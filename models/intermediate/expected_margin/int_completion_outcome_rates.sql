-- One row per task type, plus one row with task_type NULL (the fallback over all types): the
-- chance that a pending completion gets credited and that a credited one gets reversed,
-- learned from matured history, i.e. completions completed at least
-- var('expected_margin_maturity_days') days before the warehouse's as-of (their status is
-- final by then).
--   credit_probability   = (credited + reversed) / matured completions
--                          (a reversed completion was credited first; pending ones still
--                          pending once matured count as never credited)
--   reversal_probability = reversed / (credited + reversed)
-- A type with fewer than var('expected_margin_min_matured_completions') matured completions
-- uses the fallback's rates (is_fallback).
with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

matured as (
    select
        completions.task_type,
        completions.status
    from int_task_completions_versioned as completions
    cross join int_warehouse_as_of as as_of
    where
        {{ dbt.datediff('completions.completed_at', 'as_of.as_of_at', 'day') }}
        >= {{ var('expected_margin_maturity_days') }}
),

by_type as (
    select
        task_type,
        count(*) as matured_completions,
        count(case when status in ('credited', 'reversed') then 1 end) as ever_credited_completions,
        count(case when status = 'reversed' then 1 end) as reversed_completions
    from matured
    group by task_type
),

overall as (
    select
        cast(null as {{ dbt.type_string() }}) as task_type,
        count(*) as matured_completions,
        count(case when status in ('credited', 'reversed') then 1 end) as ever_credited_completions,
        count(case when status = 'reversed' then 1 end) as reversed_completions
    from matured
),

rates as (
    select * from by_type
    union all
    select * from overall
),

with_probabilities as (
    select
        task_type,
        matured_completions,
        case
            when matured_completions > 0
                then cast(ever_credited_completions as {{ type_float64() }}) / matured_completions
        end as credit_probability,
        case
            when ever_credited_completions > 0
                then cast(reversed_completions as {{ type_float64() }}) / ever_credited_completions
        end as reversal_probability
    from rates
),

fallback as (
    -- no matured history at all (a warehouse younger than the maturity window): pending is
    -- valued as if it will be credited and nothing is expected to reverse, until history exists
    select
        task_type,
        matured_completions,
        coalesce(credit_probability, 1.0) as credit_probability,
        coalesce(reversal_probability, 0.0) as reversal_probability
    from with_probabilities
    where task_type is null
),

final as (
    select
        rates.task_type,
        rates.matured_completions,
        rates.task_type is null
        or rates.matured_completions < {{ var('expected_margin_min_matured_completions') }} as is_fallback,
        case
            when
                rates.task_type is not null
                and rates.matured_completions >= {{ var('expected_margin_min_matured_completions') }}
                then rates.credit_probability
            else fallback.credit_probability
        end as credit_probability,
        case
            when
                rates.task_type is not null
                and rates.matured_completions >= {{ var('expected_margin_min_matured_completions') }}
                then coalesce(rates.reversal_probability, fallback.reversal_probability)
            else fallback.reversal_probability
        end as reversal_probability
    from with_probabilities as rates
    cross join fallback
)

select * from final
