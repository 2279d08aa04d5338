-- One row per captured version of an offer, valid in [valid_from, valid_to) (valid_to NULL
-- for the current one); the first version is valid from the offer's created_at. Same rules
-- as int_offer_task_versions.
with

snp_offerwall__offers as (
    {#- source_model(): v2 has the versions in the source, complete from creation (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__offer_versions_as_v1') }}
    {% else %}
        select * from {{ ref('snp_offerwall__offers') }}
    {% endif %}
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
