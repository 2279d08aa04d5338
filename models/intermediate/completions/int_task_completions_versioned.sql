-- Each completion joined to the task version and the offer version that were valid at its
-- completed_at (point in time), with recognised amounts and the amount-mismatch flag.
-- Amounts:
--   payout_usd / reward_usd: the completion's own nominal amounts (what the advertiser and
--     the user were promised for it), whatever the status;
--   revenue_usd / reward_cost_usd / margin_usd: recognised, i.e. zero unless `credited`
--     (pending is on hold, reversed was clawed back, rejected was never credited).
with

stg_offerwall__user_offers as (
    select * from {{ ref('stg_offerwall__user_offers') }}
),

int_offer_task_versions as (
    select * from {{ ref('int_offer_task_versions') }}
),

int_offer_versions as (
    select * from {{ ref('int_offer_versions') }}
),

joined as (
    select
        completions.*,
        task_versions.offer_task_version_id,
        task_versions.task_type,
        task_versions.task_position,
        task_versions.reward_coins as version_reward_coins,
        task_versions.payout_cents as version_payout_cents,
        task_versions.status as task_status_at_completion,
        offer_versions.offer_version_id,
        offer_versions.status as offer_status_at_completion
    from stg_offerwall__user_offers as completions
    left join int_offer_task_versions as task_versions
        on completions.offer_task_id = task_versions.offer_task_id
        and completions.completed_at >= task_versions.valid_from
        and (completions.completed_at < task_versions.valid_to or task_versions.valid_to is null)
    left join int_offer_versions as offer_versions
        on completions.offer_id = offer_versions.offer_id
        and completions.completed_at >= offer_versions.valid_from
        and (completions.completed_at < offer_versions.valid_to or offer_versions.valid_to is null)
),

final as (
    select
        -- ids
        completion_id,
        user_id,
        offer_id,
        offer_task_id,
        offer_task_version_id,
        offer_version_id,

        -- status and context
        status,
        task_type,
        task_position,
        task_status_at_completion,
        offer_status_at_completion,
        country,
        device_platform,
        ip_hash,
        device_hash,

        -- nominal amounts (the completion's own)
        reward_coins,
        payout_cents,
        payout_usd,
        reward_usd,

        -- recognised amounts: zero unless credited
        cast(case when status = 'credited' then payout_usd else 0 end as numeric) as revenue_usd,
        cast(case when status = 'credited' then reward_usd else 0 end as numeric) as reward_cost_usd,
        cast(case when status = 'credited' then payout_usd - reward_usd else 0 end as numeric) as margin_usd,

        -- flags
        status = 'reversed' as is_reversed,
        coalesce(
            reward_coins <> version_reward_coins or payout_cents <> version_payout_cents,
            false
        ) as has_amount_mismatch,

        -- durations
        cast({{ dbt.datediff('started_at', 'completed_at', 'second') }} / 60 as numeric) as minutes_to_complete, -- noqa: LT05

        -- timestamps
        started_at,
        completed_at,
        cast(completed_at as date) as completed_date,
        updated_at,
        loaded_at
    from joined
)

select * from final
