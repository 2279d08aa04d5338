-- Each completion joined to the task version and the offer version that were valid at its
-- completed_at (point in time), with recognised amounts and the amount-mismatch flag.
-- Amounts:
--   payout_usd / reward_usd: the completion's own nominal amounts (what the advertiser and
--     the user were promised for it), whatever the status;
--   revenue_usd / reward_cost_usd / margin_usd: recognised, i.e. zero unless `credited`
--     (pending is on hold, reversed was clawed back, rejected was never credited).
-- Never dropped, never a crash for its parent (docs/guarantees.md, guarantee 12):
--   a completion dated before its task's (offer's) first version is valued by that first
--   version (is_before_task_created); a completion whose task or offer never had a clean
--   version (bad from birth) keeps its own amounts, takes position and type from the task's
--   latest raw row and is flagged is_parent_inferred (the dims carry an inferred member).
-- Incremental (docs/models.md): a run re-joins the completions replicated since the table's
-- watermark (latest loaded_at minus var('incremental_lookback_hours')), those whose stored task
-- or offer version is no longer valid at completed_at (a late edit reached a snapshot), those of
-- erased users, those not in the table yet and those with an inferred parent; unique_key
-- completion_id, and the post-hook deletes the completions that left staging. The same batch
-- rules as fct_task_completions, which reads this table.
{{
    config(
        materialized='incremental',
        unique_key='completion_id',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        cluster_by=(['completion_id'] if target.type == 'bigquery' else none),
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'completion_id',"
            ~ " 'completion_id not in (select completion_id from '"
            ~ " ~ ref('stg_offerwall__user_offers') ~ ')') }}{% endif %}"
        ],
    )
}}
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

base_offerwall__offer_tasks as (
    select * from {{ ref('base_offerwall__offer_tasks') }}
),

first_task_versions as (
    select * from int_offer_task_versions
    where version_number = 1
),

first_offer_versions as (
    select * from int_offer_versions
    where version_number = 1
),

-- the latest raw row of each task, whatever its defect: position and type of an inferred task
raw_task_rows as (
    select
        offer_task_id,
        task_position,
        case when reason = 'unknown_task_type' then null else task_type end as task_type,
        row_number() over (
            partition by offer_task_id
            order by updated_at desc, loaded_at desc, raw_row_key asc
        ) as recency
    from base_offerwall__offer_tasks
    where offer_task_id is not null
),

raw_tasks as (
    select * from raw_task_rows
    where recency = 1
),

{% if is_incremental_run() %}
    watermark as (
        select max(loaded_at) - interval {{ var('incremental_lookback_hours') }} hour as loaded_after
        from {{ this }}
    ),

    stale_version_joins as (
        select existing.completion_id
        from {{ this }} as existing
        left join int_offer_task_versions as task_versions
            on existing.offer_task_version_id = task_versions.offer_task_version_id
        left join int_offer_versions as offer_versions
            on existing.offer_version_id = offer_versions.offer_version_id
        where task_versions.valid_to <= existing.completed_at
            or offer_versions.valid_to <= existing.completed_at
    ),

    completions_batch as (
        select completions.*
        from stg_offerwall__user_offers as completions
        cross join watermark
        where completions.loaded_at > watermark.loaded_after
            or completions.completion_id in (select stale.completion_id from stale_version_joins as stale)
            or starts_with(completions.user_id, '{{ var("erased_user_prefix") }}')
            or completions.completion_id not in (select existing.completion_id from {{ this }} as existing)
            or completions.completion_id in (
                select existing.completion_id from {{ this }} as existing where existing.is_parent_inferred
            )
    ),
{% else %}
    completions_batch as (
        select * from stg_offerwall__user_offers
    ),
{% endif %}

joined as (
    select
        completions.*,
        coalesce(task_versions.offer_task_version_id, first_task.offer_task_version_id) as offer_task_version_id,
        coalesce(task_versions.task_type, first_task.task_type, raw_tasks.task_type) as task_type,
        coalesce(task_versions.task_position, first_task.task_position, raw_tasks.task_position) as task_position,
        coalesce(task_versions.reward_coins, first_task.reward_coins) as version_reward_coins,
        coalesce(task_versions.payout_cents, first_task.payout_cents) as version_payout_cents,
        coalesce(task_versions.status, first_task.status) as task_status_at_completion,
        coalesce(offer_versions.offer_version_id, first_offer.offer_version_id) as offer_version_id,
        coalesce(offer_versions.status, first_offer.status) as offer_status_at_completion,
        task_versions.offer_task_version_id is null
        and first_task.offer_task_version_id is not null as is_before_task_created,
        first_task.offer_task_version_id is null or first_offer.offer_version_id is null as is_parent_inferred
    from completions_batch as completions
    left join int_offer_task_versions as task_versions
        on completions.offer_task_id = task_versions.offer_task_id
        and completions.completed_at >= task_versions.valid_from
        and (completions.completed_at < task_versions.valid_to or task_versions.valid_to is null)
    left join int_offer_versions as offer_versions
        on completions.offer_id = offer_versions.offer_id
        and completions.completed_at >= offer_versions.valid_from
        and (completions.completed_at < offer_versions.valid_to or offer_versions.valid_to is null)
    left join first_task_versions as first_task
        on completions.offer_task_id = first_task.offer_task_id
    left join first_offer_versions as first_offer
        on completions.offer_id = first_offer.offer_id
    left join raw_tasks
        on completions.offer_task_id = raw_tasks.offer_task_id
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
        is_parent_inferred,
        is_before_task_created,
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
