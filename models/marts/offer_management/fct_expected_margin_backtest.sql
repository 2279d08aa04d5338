-- Backtest of expected_margin_usd (issue 11): one row per completion week (Monday) whose
-- completions have all matured (the week's last day + var('expected_margin_maturity_days') <=
-- the as-of date, so their margin is final). Each week is valued as it looked at its
-- backtest date = week end + var('expected_margin_backtest_lag_days'): a completion updated
-- after that date counts as pending then (status history is not kept; a chargeback after
-- the date was a credit before it, counted pending here: conservative), and is valued with
-- the macro expected_margin at its task type's rates. It is compared with the margin finally
-- recognised. Rates are today's (learned on all matured history, the week included): the
-- backtest measures the valuation, not a rate drift.
with

int_completions_expected_margin as (
    select * from {{ ref('int_completions_expected_margin') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

completions as (
    select
        completions.*,
        as_of.as_of_date,
        {{ week_start('completions.completed_date') }} as completion_week
    from int_completions_expected_margin as completions
    cross join int_warehouse_as_of as as_of
),

dated as (
    select
        *,
        cast({{ dbt.dateadd('day', 7 + var('expected_margin_backtest_lag_days'), 'completion_week') }} as date)
            as backtest_date
    from completions
    where
        {{ days_between('completion_week', 'as_of_date') }}
        >= 7 + {{ var('expected_margin_maturity_days') }}
),

as_of_backtest as (
    select
        completion_week,
        backtest_date,
        margin_usd,
        payout_usd - reward_usd as nominal_margin_usd,
        credit_probability,
        reversal_probability,
        case
            when cast(updated_at as date) < backtest_date then status else 'pending'
        end as status_at_backtest,
        {{ days_between('completed_date', 'backtest_date') }}
        >= {{ var('expected_margin_maturity_days') }} as is_matured_at_backtest
    from dated
),

valued as (
    select
        completion_week,
        backtest_date,
        margin_usd,
        case when status_at_backtest = 'credited' then nominal_margin_usd else 0 end as recognised_margin_usd_then,
        case when status_at_backtest = 'pending' then 1 else 0 end as is_pending_then,
        {{ expected_margin('status_at_backtest', 'nominal_margin_usd', 'is_matured_at_backtest', 'credit_probability', 'reversal_probability') }}
            as expected_margin_usd_then
    from as_of_backtest
),

weekly as (
    select
        completion_week,
        backtest_date,
        count(*) as completions,
        sum(is_pending_then) as pending_completions_then,
        sum(margin_usd) as final_margin_usd,
        sum(recognised_margin_usd_then) as recognised_margin_usd_then,
        sum(expected_margin_usd_then) as expected_margin_usd_then
    from valued
    group by completion_week, backtest_date
),

final as (
    select
        completion_week,
        backtest_date,
        cast(completions as {{ dbt.type_bigint() }}) as completions,
        cast(pending_completions_then as {{ dbt.type_bigint() }}) as pending_completions_then,
        cast(final_margin_usd as numeric) as final_margin_usd,
        cast(recognised_margin_usd_then as numeric) as recognised_margin_usd_then,
        cast(expected_margin_usd_then as numeric) as expected_margin_usd_then,
        case
            when final_margin_usd <> 0
                then cast(expected_margin_usd_then - final_margin_usd as {{ type_float64() }})
                    / cast(final_margin_usd as {{ type_float64() }})
        end as expected_error_pct,
        case
            when final_margin_usd <> 0
                then cast(recognised_margin_usd_then - final_margin_usd as {{ type_float64() }})
                    / cast(final_margin_usd as {{ type_float64() }})
        end as recognised_error_pct
    from weekly
)

select * from final
