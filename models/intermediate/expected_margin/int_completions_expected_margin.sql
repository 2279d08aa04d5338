-- One row per completion of int_task_completions_versioned (same rows; the columns its readers
-- use, no identifiers) with the margin it is expected to end with (macro expected_margin):
-- pending completions valued at their task type's credit probability, credited ones not yet
-- matured at the reversal probability (int_completion_outcome_rates; the fallback rates for a
-- type without enough matured history). Matured = completed at least
-- var('expected_margin_maturity_days') days before the as-of.
-- A view (docs/models.md, "Incremental end to end"): the rates are learned again every day and
-- the as-of moves, so every pending or young completion is revalued every day; its readers
-- (daily offer performance, the backtest, user activity) each scan every completion anyway, and
-- computing the value in their scan (one join with a table of a dozen rates) costs them less
-- than writing a copy of every completion did.
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
        -- ids
        completions.completion_id,
        completions.user_id,
        completions.offer_id,

        -- status and context
        completions.status,
        completions.task_type,
        completions.country,

        -- nominal amounts (the completion's own)
        completions.payout_usd,
        completions.reward_usd,

        -- recognised amounts: zero unless credited
        completions.revenue_usd,
        completions.reward_cost_usd,
        completions.margin_usd,

        -- outcome probabilities of the task type
        coalesce(rates.credit_probability, fallback.credit_probability) as credit_probability,
        coalesce(rates.reversal_probability, fallback.reversal_probability) as reversal_probability,

        -- flags
        {{ dbt.datediff('completions.completed_at', 'as_of.as_of_at', 'day') }}
        >= {{ var('expected_margin_maturity_days') }} as is_matured,

        -- timestamps
        completions.completed_at,
        completions.completed_date,
        completions.updated_at
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
            {{ expected_margin(
                'status', 'payout_usd - reward_usd', 'is_matured', 'credit_probability', 'reversal_probability'
            ) }}
            as numeric
        ) as expected_margin_usd
    from completions
)

select * from final
