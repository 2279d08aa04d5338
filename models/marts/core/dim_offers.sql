-- One row per offer, its current state, with its task count. An offer that completions or
-- tasks point at but staging does not hold is an inferred member (is_inferred): its last
-- clean version, or what its raw row says (int_offers_with_inferred).
with

int_offers_with_inferred as (
    select * from {{ ref('int_offers_with_inferred') }}
),

int_offer_tasks_with_inferred as (
    select * from {{ ref('int_offer_tasks_with_inferred') }}
),

task_counts as (
    select
        offer_id,
        count(*) as task_count,
        count(case when status = 'active' then 1 end) as active_task_count
    from int_offer_tasks_with_inferred
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

        -- flags
        offers.is_inferred,

        -- timestamps
        offers.created_at,
        offers.updated_at
    from int_offers_with_inferred as offers
    left join task_counts
        on offers.offer_id = task_counts.offer_id
)

select * from final
