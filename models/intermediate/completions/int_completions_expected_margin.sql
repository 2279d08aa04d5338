-- One row per completion of int_task_completions_versioned (same rows, all its columns) with
-- the margin it is expected to end with (macro expected_margin): pending completions valued at
-- their task type's credit probability, credited ones not yet matured at the reversal
-- probability (int_completion_outcome_rates; the fallback rates for a type without enough
-- matured history). Matured = completed at least var('expected_margin_maturity_days') days
-- before the as-of.
with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

int_completion_outcome_rates as (
    select * from {{ ref('int_completion_outcome_rates') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

fallback as (
    select * from int_completion_outcome_rates
    where task_type is null
),

completions as (
    select
        completions.*,
        coalesce(rates.credit_probability, fallback.credit_probability) as credit_probability,
        coalesce(rates.reversal_probability, fallback.reversal_probability) as reversal_probability,
        {{ dbt.datediff('completions.completed_at', 'as_of.as_of_at', 'day') }}
        >= {{ var('expected_margin_maturity_days') }} as is_matured
    from int_task_completions_versioned as completions
    cross join int_warehouse_as_of as as_of
    cross join fallback
    left join int_completion_outcome_rates as rates
        on completions.task_type = rates.task_type
),

final as (
    select
        *,
        cast(
            {{ expected_margin('status', 'payout_usd - reward_usd', 'is_matured', 'credit_probability', 'reversal_probability') }}
            as numeric
        ) as expected_margin_usd
    from completions
)

select * from final
