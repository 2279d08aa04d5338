-- One row per offer, its current state, with its task count.
with

stg_offerwall__offers as (
    select * from {{ ref('stg_offerwall__offers') }}
),

stg_offerwall__offer_tasks as (
    select * from {{ ref('stg_offerwall__offer_tasks') }}
),

task_counts as (
    select
        offer_id,
        count(*) as task_count,
        count(case when status = 'active' then 1 end) as active_task_count
    from stg_offerwall__offer_tasks
    group by 1
),

final as (
    select
        -- ids
        offers.offer_id,

        -- descriptive
        offers.offer_name,
        offers.advertiser,
        offers.provider,
        offers.category,
        offers.status,

        -- targeting
        offers.platforms,
        offers.countries,
        offers.is_worldwide,

        -- tasks
        coalesce(task_counts.task_count, 0) as task_count,
        coalesce(task_counts.active_task_count, 0) as active_task_count,

        -- timestamps
        offers.created_at,
        offers.updated_at
    from stg_offerwall__offers as offers
    left join task_counts
        on offers.offer_id = task_counts.offer_id
)

select * from final
