-- One row per captured version of an offer, valid in [valid_from, valid_to) (valid_to NULL
-- for the current one); the first version is valid from the offer's created_at. Same rules
-- as int_offer_task_versions.
{#- source_model() v2: the versions come from the source itself (immutable, effective-dated),
    complete from creation; v1: from the snapshot. Same columns either way. #}
{% if source_model() == 'v2' %}
with

stg_offerwall_v2__offer_versions as (
    select * from {{ ref('stg_offerwall_v2__offer_versions') }}
),

final as (
    select * from stg_offerwall_v2__offer_versions
)

select * from final
{% else %}
with

snp_offerwall__offers as (
    select * from {{ ref('snp_offerwall__offers') }}
),

ordered as (
    select
        *,
        row_number() over (partition by offer_id order by dbt_valid_from) as version_number,
        lead(dbt_valid_from) over (partition by offer_id order by dbt_valid_from) as next_valid_from
    from snp_offerwall__offers
),

final as (
    select
        -- ids
        dbt_scd_id as offer_version_id,
        offer_id,
        version_number,

        -- descriptive
        offer_name,
        advertiser,
        provider,
        category,
        status,
        is_worldwide,

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
