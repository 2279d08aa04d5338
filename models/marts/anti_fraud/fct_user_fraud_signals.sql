-- One row per active user (at least one completion, any status): fraud signals, a risk score
-- 0-100 and a risk tier. Thresholds and weights are the `anti_fraud_*` vars.
--
-- Each signal is scaled to [0, 1] between a "normal" and a "clearly abnormal" threshold
-- (macro anti_fraud_ramp), multiplied by its weight (how sure that signal alone makes us) and
-- combined as a noisy-or: risk_score = 100 * (1 - product(1 - weight * signal)). One strong
-- signal is enough to reach the high tier; several weak ones add up without passing 100.
-- suspected_fraud_type names the pattern of the strongest weighted signal.
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

int_users_activity_by_day as (
    select * from {{ ref('int_users_activity_by_day') }}
),

dim_users as (
    select * from {{ ref('dim_users') }}
),

as_of as (
    select {{ as_of_timestamp() }} as as_of_at
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

-- money and status mix per user
user_completions as (
    select
        user_id,
        count(*) as completions,
        count(case when status = 'credited' then 1 end) as credited_completions,
        count(case when status = 'reversed' then 1 end) as reversed_completions,
        count(case when status = 'rejected' then 1 end) as rejected_completions,
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
        sum(payout_usd) as nominal_payout_usd,
        sum(case when status in ('credited', 'pending') then reward_usd else 0 end) as money_at_risk_usd,
        min(completed_at) as first_completed_at,
        max(completed_at) as last_completed_at
    from fct_task_completions
    cross join as_of
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
            when user_completions.nominal_payout_usd > 0
                then cast(max(user_offer_payout.offer_payout_usd) as {{ type_float64() }})
                    / cast(user_completions.nominal_payout_usd as {{ type_float64() }})
        end as top_offer_payout_share
    from user_offer_payout
    inner join user_completions
        on user_offer_payout.user_id = user_completions.user_id
    group by user_offer_payout.user_id, user_completions.nominal_payout_usd
),

user_velocity as (
    select
        user_id,
        count(*) as active_days,
        max(completions) as max_completions_per_day
    from int_users_activity_by_day
    group by user_id
),

signals as (
    select
        -- ids
        user_completions.user_id,

        -- raw signals
        coalesce(user_devices.device_sharing_users, 1) as device_sharing_users,
        coalesce(user_devices.distinct_devices, 0) as distinct_devices,
        coalesce(user_ips.network_sharing_users, 1) as network_sharing_users,
        coalesce(user_ips.distinct_networks, 0) as distinct_networks,
        user_completions.completions,
        user_velocity.active_days,
        cast(user_completions.completions as {{ type_float64() }})
        / user_velocity.active_days as completions_per_active_day,
        user_velocity.max_completions_per_day,
        coalesce(user_speed.timed_completions, 0) as timed_completions,
        coalesce(user_speed.fast_completions, 0) as fast_completions,
        case
            when user_speed.timed_completions > 0
                then cast(user_speed.fast_completions as {{ type_float64() }}) / user_speed.timed_completions
        end as fast_completion_share,
        user_completions.credited_completions,
        user_completions.reversed_completions,
        user_completions.rejected_completions,
        cast(user_completions.rejected_completions as {{ type_float64() }})
        / user_completions.completions as rejection_rate,
        case
            when user_completions.credited_completions + user_completions.reversed_completions > 0
                then cast(user_completions.reversed_completions as {{ type_float64() }})
                    / (user_completions.credited_completions + user_completions.reversed_completions)
        end as chargeback_rate,
        case
            when user_completions.matured_credited_completions + user_completions.reversed_completions > 0
                then cast(user_completions.reversed_completions as {{ type_float64() }})
                    / (user_completions.matured_credited_completions + user_completions.reversed_completions)
        end as matured_chargeback_rate,
        user_completions.distinct_countries,
        user_completions.distinct_offers,
        user_payout_concentration.top_offer_payout_share,

        -- money
        user_completions.nominal_payout_usd,
        user_completions.money_at_risk_usd,

        -- timestamps
        user_completions.first_completed_at,
        user_completions.last_completed_at
    from user_completions
    inner join user_velocity
        on user_completions.user_id = user_velocity.user_id
    left join user_devices
        on user_completions.user_id = user_devices.user_id
    left join user_ips
        on user_completions.user_id = user_ips.user_id
    left join user_speed
        on user_completions.user_id = user_speed.user_id
    left join user_payout_concentration
        on user_completions.user_id = user_payout_concentration.user_id
),

scaled as (
    select
        *,
        {{ anti_fraud_ramp('device_sharing_users',
            var('anti_fraud_device_users_low'), var('anti_fraud_device_users_high')) }} as device_signal,
        {{ anti_fraud_ramp('network_sharing_users',
            var('anti_fraud_ip_users_low'), var('anti_fraud_ip_users_high')) }} as network_signal,
        case
            when fast_completions >= {{ var('anti_fraud_fast_min_completions') }}
                then {{ anti_fraud_ramp('fast_completion_share',
                    var('anti_fraud_fast_share_low'), var('anti_fraud_fast_share_high')) }}
            else 0
        end as fast_completion_signal,
        {{ anti_fraud_ramp('completions_per_active_day',
            var('anti_fraud_velocity_low'), var('anti_fraud_velocity_high')) }} as velocity_signal,
        -- a rate of one or two reversals is weak evidence: scaled down below the minimum count
        {{ anti_fraud_ramp('matured_chargeback_rate',
            var('anti_fraud_chargeback_rate_low'), var('anti_fraud_chargeback_rate_high')) }}
        * least(reversed_completions * 1.0 / {{ var('anti_fraud_chargeback_min_reversed') }}, 1) as chargeback_signal,
        {{ anti_fraud_ramp('distinct_countries',
            var('anti_fraud_countries_low'), var('anti_fraud_countries_high')) }} as country_signal,
        case
            when rejected_completions >= {{ var('anti_fraud_rejection_min_rejected') }}
                then {{ anti_fraud_ramp('rejection_rate',
                    var('anti_fraud_rejection_rate_low'), var('anti_fraud_rejection_rate_high')) }}
            else 0
        end as rejection_signal,
        case
            when completions >= {{ var('anti_fraud_payout_concentration_min_completions') }}
                then {{ anti_fraud_ramp('top_offer_payout_share',
                    var('anti_fraud_payout_concentration_low'), var('anti_fraud_payout_concentration_high')) }}
            else 0
        end as payout_concentration_signal
    from signals
),

weighted as (
    select
        *,
        {{ var('anti_fraud_weight_device') }} * device_signal as device_signal_weighted,
        {{ var('anti_fraud_weight_ip') }} * network_signal as network_signal_weighted,
        {{ var('anti_fraud_weight_fast_completion') }} * fast_completion_signal as fast_completion_signal_weighted,
        {{ var('anti_fraud_weight_velocity') }} * velocity_signal as velocity_signal_weighted,
        {{ var('anti_fraud_weight_chargeback') }} * chargeback_signal as chargeback_signal_weighted,
        {{ var('anti_fraud_weight_country') }} * country_signal as country_signal_weighted,
        {{ var('anti_fraud_weight_rejection') }} * rejection_signal as rejection_signal_weighted,
        {{ var('anti_fraud_weight_payout_concentration') }}
        * payout_concentration_signal as payout_concentration_signal_weighted
    from scaled
),

scored as (
    select
        *,
        round(
            100 * (
                1
                - (1 - device_signal_weighted)
                * (1 - network_signal_weighted)
                * (1 - fast_completion_signal_weighted)
                * (1 - velocity_signal_weighted)
                * (1 - chargeback_signal_weighted)
                * (1 - country_signal_weighted)
                * (1 - rejection_signal_weighted)
                * (1 - payout_concentration_signal_weighted)
            ),
            2
        ) as risk_score,
        greatest(
            device_signal_weighted,
            network_signal_weighted,
            fast_completion_signal_weighted,
            velocity_signal_weighted,
            chargeback_signal_weighted,
            country_signal_weighted,
            rejection_signal_weighted,
            payout_concentration_signal_weighted
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
            when scored.top_signal_weighted <= 0 then 'none'
            when scored.device_signal_weighted = scored.top_signal_weighted then 'device_farm'
            when scored.network_signal_weighted = scored.top_signal_weighted then 'device_farm'
            when scored.fast_completion_signal_weighted = scored.top_signal_weighted then 'bot'
            when scored.velocity_signal_weighted = scored.top_signal_weighted then 'velocity'
            when scored.chargeback_signal_weighted = scored.top_signal_weighted then 'chargeback_abuser'
            when scored.country_signal_weighted = scored.top_signal_weighted then 'country_hopper'
            when scored.rejection_signal_weighted = scored.top_signal_weighted then 'other'
            when scored.payout_concentration_signal_weighted = scored.top_signal_weighted then 'other'
        end as suspected_fraud_type,

        -- signals scaled to [0, 1]
        cast(scored.device_signal as {{ type_float64() }}) as device_signal,
        cast(scored.network_signal as {{ type_float64() }}) as network_signal,
        cast(scored.fast_completion_signal as {{ type_float64() }}) as fast_completion_signal,
        cast(scored.velocity_signal as {{ type_float64() }}) as velocity_signal,
        cast(scored.chargeback_signal as {{ type_float64() }}) as chargeback_signal,
        cast(scored.country_signal as {{ type_float64() }}) as country_signal,
        cast(scored.rejection_signal as {{ type_float64() }}) as rejection_signal,
        cast(scored.payout_concentration_signal as {{ type_float64() }}) as payout_concentration_signal,

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
