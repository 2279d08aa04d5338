-- One row per active user (at least one completion, any status): fraud signals, a risk score
-- 0-100 and a risk tier. Thresholds and weights are the `anti_fraud_*` vars.
--
-- Each signal is scaled to [0, 1] between a "normal" and a "clearly abnormal" threshold
-- (the ramp below), multiplied by its weight (how sure that signal alone makes us) and
-- combined as a noisy-or: risk_score = 100 * (1 - product(1 - weight * signal)). One strong
-- signal is enough to reach the high tier; several weak ones add up without passing 100.
-- suspected_fraud_type names the pattern of the strongest weighted signal (first in the list
-- on a tie).
--
-- The 8 signals are one list, the macro fraud_signals() (fct_fraud_review_queue reads it too):
-- the raw column, its low/high/weight vars, the fraud type it names and a factor the ramp is
-- multiplied by (1; a 0/1 gate that lets the
-- signal count only from a minimum count; or a scale that weakens it below one). Every signal
-- column, the score, the strongest signal and the fraud type are generated from it. Per-user
-- lifetime figures (completions by status, active days, first/last completion, payout) are
-- read from int_users_first_last_activity, where they are computed once for dim_users too.
{#- the list and each signal's ramp: macros/anti_fraud/fraud_signals.sql -#}
{%- set fraud_signals = fraud_signals() %}
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

int_users_first_last_activity as (
    select * from {{ ref('int_users_first_last_activity') }}
),

dim_users as (
    select * from {{ ref('dim_users') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

-- how many distinct users each device and each IP is seen with
device_users as (
    select
        device_hash,
        count(distinct user_id) as users_on_device
    from fct_task_completions
    where device_hash is not null
    group by device_hash
),

ip_users as (
    select
        ip_hash,
        count(distinct user_id) as users_on_ip
    from fct_task_completions
    where ip_hash is not null
    group by ip_hash
),

user_devices as (
    select
        completions.user_id,
        count(distinct completions.device_hash) as distinct_devices,
        max(device_users.users_on_device) as device_sharing_users
    from fct_task_completions as completions
    inner join device_users
        on completions.device_hash = device_users.device_hash
    group by completions.user_id
),

user_ips as (
    select
        completions.user_id,
        count(distinct completions.ip_hash) as distinct_networks,
        max(ip_users.users_on_ip) as network_sharing_users
    from fct_task_completions as completions
    inner join ip_users
        on completions.ip_hash = ip_users.ip_hash
    group by completions.user_id
),

-- time to complete against the norm (median) of the task type, in whole seconds
-- (minutes_to_complete is whole seconds / 60), so both engines compare the same exact values
timed_completions as (
    select
        user_id,
        task_type,
        cast(round(minutes_to_complete * 60) as {{ dbt.type_bigint() }}) as seconds_to_complete
    from fct_task_completions
    where minutes_to_complete is not null
),

completion_speed as (
    select
        user_id,
        seconds_to_complete,
        {{ median_over('seconds_to_complete', 'task_type') }} as task_type_median_seconds
    from timed_completions
),

user_speed as (
    select
        user_id,
        count(*) as timed_completions,
        count(
            case
                when seconds_to_complete < {{ var('anti_fraud_fast_ratio') }} * task_type_median_seconds
                    then 1
            end
        ) as fast_completions
    from completion_speed
    group by user_id
),

-- what only this mart needs per user: matured credits, distinct countries and offers, money
-- at risk
user_completions as (
    select
        user_id,
        -- credited long enough ago (updated_at = when it was credited) that a chargeback
        -- would have arrived by now
        count(
            case
                when
                    status = 'credited'
                    and {{ dbt.datediff('updated_at', 'as_of.as_of_at', 'day') }}
                    >= {{ var('anti_fraud_chargeback_maturity_days') }}
                    then 1
            end
        ) as matured_credited_completions,
        count(distinct country) as distinct_countries,
        count(distinct offer_id) as distinct_offers,
        sum(case when status in ('credited', 'pending') then reward_usd else 0 end) as money_at_risk_usd
    from fct_task_completions
    cross join int_warehouse_as_of as as_of
    group by user_id
),

user_offer_payout as (
    select
        user_id,
        offer_id,
        sum(payout_usd) as offer_payout_usd
    from fct_task_completions
    group by user_id, offer_id
),

user_payout_concentration as (
    select
        user_offer_payout.user_id,
        case
            when activity.nominal_payout_usd > 0
                then cast(max(user_offer_payout.offer_payout_usd) as {{ type_float64() }})
                    / cast(activity.nominal_payout_usd as {{ type_float64() }})
        end as top_offer_payout_share
    from user_offer_payout
    inner join int_users_first_last_activity as activity
        on user_offer_payout.user_id = activity.user_id
    group by user_offer_payout.user_id, activity.nominal_payout_usd
),

signals as (
    select
        -- ids
        activity.user_id,

        -- raw signals
        coalesce(user_devices.device_sharing_users, 1) as device_sharing_users,
        coalesce(user_devices.distinct_devices, 0) as distinct_devices,
        coalesce(user_ips.network_sharing_users, 1) as network_sharing_users,
        coalesce(user_ips.distinct_networks, 0) as distinct_networks,
        activity.completions,
        activity.active_days,
        cast(activity.completions as {{ type_float64() }})
        / activity.active_days as completions_per_active_day,
        activity.max_completions_per_day,
        coalesce(user_speed.timed_completions, 0) as timed_completions,
        coalesce(user_speed.fast_completions, 0) as fast_completions,
        case
            when user_speed.timed_completions > 0
                then cast(user_speed.fast_completions as {{ type_float64() }}) / user_speed.timed_completions
        end as fast_completion_share,
        activity.credited_completions,
        activity.reversed_completions,
        activity.rejected_completions,
        cast(activity.rejected_completions as {{ type_float64() }})
        / activity.completions as rejection_rate,
        case
            when activity.credited_completions + activity.reversed_completions > 0
                then cast(activity.reversed_completions as {{ type_float64() }})
                    / (activity.credited_completions + activity.reversed_completions)
        end as chargeback_rate,
        case
            when user_completions.matured_credited_completions + activity.reversed_completions > 0
                then cast(activity.reversed_completions as {{ type_float64() }})
                    / (user_completions.matured_credited_completions + activity.reversed_completions)
        end as matured_chargeback_rate,
        user_completions.distinct_countries,
        user_completions.distinct_offers,
        user_payout_concentration.top_offer_payout_share,

        -- money
        activity.nominal_payout_usd,
        user_completions.money_at_risk_usd,

        -- timestamps
        activity.first_completed_at,
        activity.last_completed_at
    from int_users_first_last_activity as activity
    inner join user_completions
        on activity.user_id = user_completions.user_id
    left join user_devices
        on activity.user_id = user_devices.user_id
    left join user_ips
        on activity.user_id = user_ips.user_id
    left join user_speed
        on activity.user_id = user_speed.user_id
    left join user_payout_concentration
        on activity.user_id = user_payout_concentration.user_id
),

-- each signal: its ramp (see the list above) x its factor
scaled as (
    select
        {% for signal in fraud_signals -%}
            {{ signal.ramp }}
            * {{ signal.factor }} as {{ signal.name }}_signal,
        {% endfor -%}
        *
    from signals
),

weighted as (
    select
        {% for signal in fraud_signals -%}
            {{ var(signal.weight) }} * {{ signal.name }}_signal as {{ signal.name }}_signal_weighted,
        {% endfor -%}
        *
    from scaled
),

scored as (
    select
        *,
        round(
            100 * (
                1
                {% for signal in fraud_signals -%}
                    {{ '-' if loop.first else '*' }} (1 - {{ signal.name }}_signal_weighted)
                {% endfor -%}
            ),
            2
        ) as risk_score,
        greatest(
            {% for signal in fraud_signals -%}
                {{ signal.name }}_signal_weighted,
            {% endfor -%}
            0 -- no signal: every weighted signal is >= 0
        ) as top_signal_weighted
    from weighted
),

final as (
    select
        -- ids
        scored.user_id,

        -- user
        dim_users.signup_date,
        dim_users.acquisition_channel,

        -- score
        cast(scored.risk_score as {{ type_float64() }}) as risk_score,
        case
            when scored.risk_score >= {{ var('anti_fraud_high_tier_min_score') }} then 'high'
            when scored.risk_score >= {{ var('anti_fraud_medium_tier_min_score') }} then 'medium'
            else 'low'
        end as risk_tier,
        case
            -- a signal too weak to move the rounded score (seen at 10M rows) names no type
            when scored.top_signal_weighted <= 0 or scored.risk_score <= 0 then 'none'
            {% for signal in fraud_signals -%}
                when scored.{{ signal.name }}_signal_weighted = scored.top_signal_weighted
                    then '{{ signal.fraud_type }}'
            {% endfor -%}
        end as suspected_fraud_type,

        -- signals scaled to [0, 1]
        {% for signal in fraud_signals -%}
            cast(scored.{{ signal.name }}_signal as {{ type_float64() }}) as {{ signal.name }}_signal,
        {% endfor %}
        -- shared device and IP
        cast(scored.device_sharing_users as {{ dbt.type_bigint() }}) as device_sharing_users,
        cast(scored.distinct_devices as {{ dbt.type_bigint() }}) as distinct_devices,
        cast(scored.network_sharing_users as {{ dbt.type_bigint() }}) as network_sharing_users,
        cast(scored.distinct_networks as {{ dbt.type_bigint() }}) as distinct_networks,

        -- velocity
        cast(scored.completions as {{ dbt.type_bigint() }}) as completions,
        cast(scored.active_days as {{ dbt.type_bigint() }}) as active_days,
        cast(scored.completions_per_active_day as {{ type_float64() }}) as completions_per_active_day,
        cast(scored.max_completions_per_day as {{ dbt.type_bigint() }}) as max_completions_per_day,

        -- speed
        cast(scored.timed_completions as {{ dbt.type_bigint() }}) as timed_completions,
        cast(scored.fast_completions as {{ dbt.type_bigint() }}) as fast_completions,
        cast(scored.fast_completion_share as {{ type_float64() }}) as fast_completion_share,

        -- chargebacks and status
        cast(scored.credited_completions as {{ dbt.type_bigint() }}) as credited_completions,
        cast(scored.reversed_completions as {{ dbt.type_bigint() }}) as reversed_completions,
        cast(scored.rejected_completions as {{ dbt.type_bigint() }}) as rejected_completions,
        cast(scored.chargeback_rate as {{ type_float64() }}) as chargeback_rate,
        cast(scored.matured_chargeback_rate as {{ type_float64() }}) as matured_chargeback_rate,
        cast(scored.rejection_rate as {{ type_float64() }}) as rejection_rate,

        -- geography and concentration
        cast(scored.distinct_countries as {{ dbt.type_bigint() }}) as distinct_countries,
        cast(scored.distinct_offers as {{ dbt.type_bigint() }}) as distinct_offers,
        cast(scored.top_offer_payout_share as {{ type_float64() }}) as top_offer_payout_share,

        -- money
        cast(scored.nominal_payout_usd as numeric) as nominal_payout_usd,
        cast(scored.money_at_risk_usd as numeric) as money_at_risk_usd,

        -- timestamps
        scored.first_completed_at,
        scored.last_completed_at
    from scored
    left join dim_users
        on scored.user_id = dim_users.user_id
)

select * from final
