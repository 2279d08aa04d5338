-- Every raw.offer_tasks row, typed and cleaned, with its disposition: `staged` (the latest
-- clean version of the task), `superseded` (an older version or an exact copy) or
-- `quarantined` (breaks a rule of docs/source_system.md; `reason` names the first one).
-- The one join: the parent offer, so no staged task points at an offer that is not staged
-- (unknown_fk: the offer never existed, in raw or in the snapshots' history;
-- parent_quarantined: the offer is bad). The completions of such a task are kept all the
-- same (the dims carry an inferred member, guarantee 12). Time sanity: created_at/updated_at after
-- _loaded_at (+ var future_tolerance_hours) is quarantined and never counts as the latest
-- version, so it never opens a snapshot version dated in the future.
-- Volume guard: built after the raw load passed its guards (models/audit).
{% if source_model() == 'v1' -%}
-- depends_on: {{ ref('audit_raw_load_profile') }}
{%- endif %}
with

source as (
    {#- source_model(): with v2 the same rules read the v2 projection (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__offer_tasks_as_v1') }}
    {% else %}
        select * from {{ source('offerwall', 'offer_tasks') }}
    {% endif %}
),

base_offerwall__offers as (
    select * from {{ ref('base_offerwall__offers') }}
),

snp_offerwall__offers as (
    {#- source_model(): v2 has the versions in the source (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__offer_versions_as_v1') }}
    {% else %}
        select * from {{ ref('snp_offerwall__offers') }}
    {% endif %}
),

cleaned as (
    select
        -- ids
        id as offer_task_id,
        offer_id,

        -- descriptive
        position as task_position,
        trim(title) as title,
        {{ clean_code('task_type') }} as task_type,
        {{ clean_code('status') }} as status,

        -- amounts
        reward_coins,
        payout_cents,

        -- timestamps
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source
),

offer_ids as (
    select
        offer_id,
        case when disposition = 'staged' then 1 else 0 end as is_staged
    from base_offerwall__offers
    where offer_id is not null
    union all
    select
        offer_id,
        0 as is_staged
    from snp_offerwall__offers
),

offers as (
    select
        offer_id,
        max(is_staged) = 1 as is_staged
    from offer_ids
    group by 1
),

fingerprinted as (
    select
        cleaned.*,
        offers.offer_id is not null as is_offer_known,
        coalesce(offers.is_staged, false) as is_offer_staged,
        {{ row_fingerprint([
            'cleaned.offer_id', 'cleaned.task_position', 'cleaned.title', 'cleaned.task_type',
            'cleaned.status', 'cleaned.reward_coins', 'cleaned.payout_cents', 'cleaned.created_at',
        ]) }} as row_fingerprint
    from cleaned
    left join offers
        on cleaned.offer_id = offers.offer_id
),

{{ disposition_ctes(
    relation='fingerprinted',
    entity_key='offer_task_id',
    version_columns=['updated_at', 'loaded_at'],
    own_rules=[
        ['null_key', 'offer_task_id is null or offer_id is null or created_at is null or updated_at is null'],
        ['unknown_status', "coalesce(status, '') not in ('active', 'disabled')"],
        ['unknown_task_type', "coalesce(task_type, '') not in ('install', 'signup', 'level', 'purchase', 'deposit', 'survey', 'other')"],
        ['null_amount', 'reward_coins is null or payout_cents is null'],
        ['negative_amount', 'reward_coins < 0 or payout_cents < 0'],
        ['absurd_amount', absurd_amount_condition('reward_coins', 'payout_cents')],
        ['created_in_future', future_condition('created_at')],
        ['updated_in_future', future_condition('updated_at')],
        ['unknown_fk', 'not is_offer_known'],
    ],
    parent_rules=[
        ['parent_quarantined', 'not is_offer_staged'],
    ],
    unordered_reasons=['created_in_future', 'updated_in_future'],
) }},

final as (
    select
        -- ids
        {{ row_key([
            'offer_task_id', 'updated_at', 'loaded_at', 'row_fingerprint', 'copy_number',
        ]) }} as raw_row_key,
        offer_task_id,
        offer_id,

        -- descriptive
        task_position,
        title,
        task_type,
        status,

        -- amounts
        reward_coins,
        payout_cents,

        -- disposition
        disposition,
        reason,

        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from dispositioned
)

select * from final
