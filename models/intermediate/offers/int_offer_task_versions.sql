-- One row per captured version of an offer task, with the interval it was valid:
-- [valid_from, valid_to), valid_to NULL for the current version. Versions come from the
-- snapshot (a new one whenever updated_at moves). The first version is valid from the task's
-- created_at, not from the first snapshot, so completions older than the first snapshot still
-- find a version (the best knowledge the warehouse has of those days).
{#- source_model() v2: the versions come from the source itself (immutable, effective-dated),
    complete from creation; v1: from the snapshot. Same columns either way. #}
{% if source_model() == 'v2' %}
with

stg_offerwall_v2__offer_task_versions as (
    select * from {{ ref('stg_offerwall_v2__offer_task_versions') }}
),

final as (
    select * from stg_offerwall_v2__offer_task_versions
)

select * from final
{% else %}
with

snp_offerwall__offer_tasks as (
    select * from {{ ref('snp_offerwall__offer_tasks') }}
),

ordered as (
    select
        *,
        row_number() over (partition by offer_task_id order by dbt_valid_from) as version_number,
        lead(dbt_valid_from) over (partition by offer_task_id order by dbt_valid_from) as next_valid_from
    from snp_offerwall__offer_tasks
),

final as (
    select
        -- ids
        dbt_scd_id as offer_task_version_id,
        offer_task_id,
        offer_id,
        version_number,

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

        -- validity
        case
            when version_number = 1 then least(created_at, dbt_valid_from)
            else dbt_valid_from
        end as valid_from,
        next_valid_from as valid_to,
        next_valid_from is null as is_current,

        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from ordered
)

select * from final
{% endif %}
