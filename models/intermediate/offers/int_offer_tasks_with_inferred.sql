-- One row per offer task the marts need: every staged task (its latest clean version), plus an
-- inferred member for each task that completions point at but staging does not hold (its
-- rows are bad, time-insane or deleted from the replica), so no completion loses its task
-- (docs/guarantees.md, guarantee 12). An inferred member is the task's last clean version
-- (snapshot history) when it had one, else its latest raw row with the defective values
-- left NULL; is_inferred flags it.
with

stg_offerwall__offer_tasks as (
    select * from {{ ref('stg_offerwall__offer_tasks') }}
),

stg_offerwall__user_offers as (
    select * from {{ ref('stg_offerwall__user_offers') }}
),

int_offer_task_versions as (
    select * from {{ ref('int_offer_task_versions') }}
),

base_offerwall__offer_tasks as (
    select * from {{ ref('base_offerwall__offer_tasks') }}
),

missing as (
    select
        offer_task_id,
        min(offer_id) as completion_offer_id
    from stg_offerwall__user_offers
    where offer_task_id not in (select staged.offer_task_id from stg_offerwall__offer_tasks as staged)
    group by 1
),

last_clean_versions as (
    select * from int_offer_task_versions
    where is_current
),

raw_rows as (
    select
        *,
        row_number() over (
            partition by offer_task_id
            order by updated_at desc, loaded_at desc, raw_row_key asc
        ) as recency
    from base_offerwall__offer_tasks
    where offer_task_id is not null
),

inferred as (
    select
        -- ids
        missing.offer_task_id,
        coalesce(versions.offer_id, missing.completion_offer_id) as offer_id,

        -- descriptive
        coalesce(versions.task_position, raw_rows.task_position) as task_position,
        coalesce(versions.title, raw_rows.title) as title,
        case
            when versions.offer_task_id is not null then versions.task_type
            when raw_rows.reason <> 'unknown_task_type' then raw_rows.task_type
        end as task_type,
        case
            when versions.offer_task_id is not null then versions.status
            when raw_rows.reason <> 'unknown_status' then raw_rows.status
        end as status,

        -- amounts: the last clean ones, never a defective raw value
        versions.reward_coins,
        versions.reward_usd,
        versions.payout_cents,
        versions.payout_usd,

        -- timestamps
        coalesce(versions.created_at, raw_rows.created_at) as created_at,
        coalesce(versions.updated_at, raw_rows.updated_at) as updated_at,
        coalesce(versions.loaded_at, raw_rows.loaded_at) as loaded_at,

        -- flags
        true as is_inferred
    from missing
    left join last_clean_versions as versions
        on missing.offer_task_id = versions.offer_task_id
    left join raw_rows
        on missing.offer_task_id = raw_rows.offer_task_id
        and raw_rows.recency = 1
),

staged as (
    select
        -- ids
        offer_task_id,
        offer_id,

        -- descriptive
        task_position,
        title,
        task_type,
        status,

        -- amounts
        reward_coins,
        reward_usd,
        payout_cents,
        payout_usd,

        -- timestamps
        created_at,
        updated_at,
        loaded_at,

        -- flags
        false as is_inferred
    from stg_offerwall__offer_tasks
),

final as (
    select * from staged
    union all
    select * from inferred
)

select * from final
