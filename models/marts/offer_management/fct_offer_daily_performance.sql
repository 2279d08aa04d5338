-- One row per offer and completion date: completions by status and recognised money.
-- Every completion of fct_task_completions lands in exactly one row (margin reconciles).
-- expected_margin_usd (issue 11): the margin the day's completions are expected to end with,
-- pending ones at their task type's credit probability and young credited ones at its
-- reversal probability (int_completions_expected_margin), so recent days do not look like
-- declines. Read from int_completions_expected_margin alone: the rows of fct_task_completions
-- (both are int_task_completions_versioned's; equal_sum tests reconcile the two) with the
-- expected margin, so no join of every completion with itself.
with

int_completions_expected_margin as (
    select * from {{ ref('int_completions_expected_margin') }}
),

dim_offers as (
    select * from {{ ref('dim_offers') }}
),

aggregated as (
    select
        completions.offer_id,
        completions.completed_date,
        count(*) as completions,
        {% for status in var('completion_statuses') -%}
            count(case when completions.status = '{{ status }}' then 1 end) as {{ status }}_completions,
        {% endfor -%}
        count(distinct completions.user_id) as users, -- noqa: RF04
        sum(completions.payout_usd) as nominal_payout_usd,
        sum(completions.reward_usd) as nominal_reward_usd,
        sum(completions.revenue_usd) as revenue_usd,
        sum(completions.reward_cost_usd) as reward_cost_usd,
        sum(completions.margin_usd) as margin_usd,
        sum(completions.expected_margin_usd) as expected_margin_usd
    from int_completions_expected_margin as completions
    group by completions.offer_id, completions.completed_date
),

final as (
    select
        -- keys
        aggregated.offer_id,
        aggregated.completed_date,

        -- offer attributes (current)
        dim_offers.offer_name,
        dim_offers.advertiser,
        dim_offers.provider,
        dim_offers.category,

        -- counts
        cast(aggregated.completions as {{ dbt.type_bigint() }}) as completions,
        {% for status in var('completion_statuses') -%}
            cast(aggregated.{{ status }}_completions as {{ dbt.type_bigint() }}) as {{ status }}_completions,
        {% endfor -%}
        cast(aggregated.users as {{ dbt.type_bigint() }}) as users, -- noqa: RF04

        -- amounts: nominal (what the completions carried) and recognised (credited only)
        cast(aggregated.nominal_payout_usd as numeric) as nominal_payout_usd,
        cast(aggregated.nominal_reward_usd as numeric) as nominal_reward_usd,
        cast(aggregated.revenue_usd as numeric) as revenue_usd,
        cast(aggregated.reward_cost_usd as numeric) as reward_cost_usd,
        cast(aggregated.margin_usd as numeric) as margin_usd,

        -- ratios
        case
            when aggregated.revenue_usd <> 0
                then cast(aggregated.margin_usd as {{ type_float64() }})
                    / cast(aggregated.revenue_usd as {{ type_float64() }})
        end as margin_pct,
        case
            when aggregated.credited_completions + aggregated.reversed_completions > 0
                then cast(aggregated.reversed_completions as {{ type_float64() }})
                    / (aggregated.credited_completions + aggregated.reversed_completions)
        end as reversal_rate,

        -- expected (issue 11)
        cast(aggregated.expected_margin_usd as numeric) as expected_margin_usd
    from aggregated
    left join dim_offers
        on aggregated.offer_id = dim_offers.offer_id
)

select * from final
