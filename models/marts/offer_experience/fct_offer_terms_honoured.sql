-- One row per task completion whose offer start is known: the terms the user accepted (the
-- task version valid when the offer was started) against the terms paid (the completion's own
-- amounts, the version valid at completion), in USD. Shows, per completion, whether a change of the
-- task between start and completion cost the user coins. v1 cannot answer this on its first
-- build (one version per task) and never for changes between two snapshots.
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

int_offer_task_versions as (
    select * from {{ ref('int_offer_task_versions') }}
),

accepted as (
    select
        completions.completion_id,
        versions.offer_task_version_id as accepted_task_version_id,
        versions.reward_usd as accepted_reward_usd,
        versions.payout_usd as accepted_payout_usd,
        versions.status as accepted_task_status
    from fct_task_completions as completions
    inner join int_offer_task_versions as versions
        on completions.offer_task_id = versions.offer_task_id
        and completions.started_at >= versions.valid_from
        and (completions.started_at < versions.valid_to or versions.valid_to is null)
),

final as (
    select
        -- ids
        completions.completion_id,
        completions.user_id,
        completions.offer_id,
        completions.offer_task_id,
        accepted.accepted_task_version_id,
        completions.offer_task_version_id as paid_task_version_id,

        -- status
        completions.status,

        -- terms accepted at start vs paid at completion
        accepted.accepted_reward_usd,
        completions.reward_usd as paid_reward_usd,
        accepted.accepted_payout_usd,
        completions.payout_usd as paid_payout_usd,
        greatest(accepted.accepted_reward_usd - completions.reward_usd, 0) as reward_shortfall_usd,

        -- flags
        accepted.accepted_task_version_id <> completions.offer_task_version_id as is_terms_changed,
        completions.reward_usd >= accepted.accepted_reward_usd as is_reward_honoured,

        -- timestamps
        completions.started_at,
        completions.completed_at
    from fct_task_completions as completions
    inner join accepted
        on completions.completion_id = accepted.completion_id
)

select * from final
