-- One row per offer the marts need: every staged offer, plus an inferred member for each
-- offer that completions or tasks point at but staging does not hold (bad, time-insane or
-- deleted rows), so no completion or task loses its offer (docs/guarantees.md, guarantee 12).
-- An inferred member is the offer's last clean version when it had one, else its latest raw
-- row with the defective values (status, targeting) left NULL; is_inferred flags it.
with

stg_offerwall__offers as (
    select * from {{ ref('stg_offerwall__offers') }}
),

stg_offerwall__user_offers as (
    select * from {{ ref('stg_offerwall__user_offers') }}
),

int_offer_tasks_with_inferred as (
    select * from {{ ref('int_offer_tasks_with_inferred') }}
),

int_offer_versions as (
    select * from {{ ref('int_offer_versions') }}
),

snp_offerwall__offers as (
    {#- source_model(): v2 has the versions in the source (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__offer_versions_as_v1') }}
    {% else %}
        select * from {{ ref('snp_offerwall__offers') }}
    {% endif %}
),

base_offerwall__offers as (
    select * from {{ ref('base_offerwall__offers') }}
),

referenced as (
    select offer_id from stg_offerwall__user_offers
    union distinct
    select offer_id from int_offer_tasks_with_inferred
),

missing as (
    select offer_id
    from referenced
    where offer_id not in (select staged.offer_id from stg_offerwall__offers as staged)
),

-- the last clean version, with its targeting (the snapshot keeps the arrays)
last_clean_versions as (
    select snapshots.*
    from snp_offerwall__offers as snapshots
    inner join int_offer_versions as versions
        on snapshots.dbt_scd_id = versions.offer_version_id
    where versions.is_current
),

raw_rows as (
    select
        *,
        row_number() over (
            partition by offer_id
            order by updated_at desc, loaded_at desc, raw_row_key asc
        ) as recency
    from base_offerwall__offers
    where offer_id is not null
),

inferred as (
    select
        -- ids
        missing.offer_id,

        -- descriptive
        coalesce(versions.offer_name, raw_rows.offer_name) as offer_name,
        coalesce(versions.advertiser, raw_rows.advertiser) as advertiser,
        coalesce(versions.provider, raw_rows.provider) as provider,
        coalesce(versions.category, raw_rows.category) as category,
        case
            when versions.offer_id is not null then versions.status
            when raw_rows.reason <> 'unknown_status' then raw_rows.status
        end as status,

        -- targeting: the last clean one, else the raw one when it parses (never a malformed
        -- value); unknown targeting is not claimed worldwide
        case
            when versions.offer_id is not null then versions.platforms
            when raw_rows.reason <> 'malformed_json' then {{ json_text_array('raw_rows.platforms_json', 'lower') }}
        end as platforms,
        case
            when versions.offer_id is not null then versions.countries
            when raw_rows.reason <> 'malformed_json' then {{ json_text_array('raw_rows.countries_json', 'upper') }}
        end as countries,
        case
            when versions.offer_id is not null then versions.is_worldwide
            when raw_rows.reason <> 'malformed_json'
                then coalesce(array_length({{ json_text_array('raw_rows.countries_json', 'upper') }}) = 0, false)
            else false
        end as is_worldwide,

        -- timestamps
        coalesce(versions.created_at, raw_rows.created_at) as created_at,
        coalesce(versions.updated_at, raw_rows.updated_at) as updated_at,
        coalesce(versions.loaded_at, raw_rows.loaded_at) as loaded_at,

        -- flags
        true as is_inferred
    from missing
    left join last_clean_versions as versions
        on missing.offer_id = versions.offer_id
    left join raw_rows
        on missing.offer_id = raw_rows.offer_id
        and raw_rows.recency = 1
),

staged as (
    select
        -- ids
        offer_id,

        -- descriptive
        offer_name,
        advertiser,
        provider,
        category,
        status,

        -- targeting
        platforms,
        countries,
        is_worldwide,

        -- timestamps
        created_at,
        updated_at,
        loaded_at,

        -- flags
        false as is_inferred
    from stg_offerwall__offers
),

final as (
    select * from staged
    union all
    select * from inferred
)

select * from final
