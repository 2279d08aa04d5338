-- One row per offer task, its current state, with its offer and its version count. A task
-- that completions point at but staging does not hold is an inferred member (is_inferred):
-- its last clean version, or what its raw row says (int_offer_tasks_with_inferred).
with

int_offer_tasks_with_inferred as (
    select * from {{ ref('int_offer_tasks_with_inferred') }}
),

int_offer_task_versions as (
    select * from {{ ref('int_offer_task_versions') }}
),

version_counts as (
    select
        offer_task_id,
        count(*) as version_count
    from int_offer_task_versions
    group by 1
),

final as (
    select
        -- ids
        tasks.offer_task_id,
        tasks.offer_id,

        -- descriptive
        tasks.task_position,
        tasks.title,
        tasks.task_type,
        tasks.status,

        -- amounts (today)
        tasks.reward_coins,
        tasks.reward_usd,
        tasks.payout_usd,
        cast(tasks.payout_usd - tasks.reward_usd as numeric) as margin_usd,

        -- history
        coalesce(version_counts.version_count, 0) as version_count,

        -- flags
        tasks.is_inferred,

        -- timestamps
        tasks.created_at,
        tasks.updated_at
    from int_offer_tasks_with_inferred as tasks
    left join version_counts
        on tasks.offer_task_id = version_counts.offer_task_id
)

select * from final
