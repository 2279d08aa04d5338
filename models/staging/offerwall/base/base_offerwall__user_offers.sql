-- Every raw.user_offers row, typed and cleaned, with its disposition: `staged` (the latest
-- version of the completion: latest updated_at, then _loaded_at), `superseded` (an older
-- version or an exact copy) or `quarantined` (breaks a rule of docs/source_system.md; `reason`
-- names the first one). An id whose latest version is bad is not staged at all: its older
-- versions are superseded, never promoted.
-- Joins: the GDPR erasure list (user ids replaced before anything else sees them) and the
-- parents: unknown_fk when the user, task or offer never existed (not in the replica, not in
-- the snapshots' history; or the task belongs to another offer). A completion is never
-- dropped for its parent: a bad, quarantined or deleted task/offer row, a users row deleted
-- at erasure or a bad users row keep the completion (the fact links it to the parent's last
-- clean version or an inferred member, docs/guarantees.md guarantee 12).
-- Time sanity: updated_at after _loaded_at (+ var future_tolerance_hours) or before
-- completed_at is quarantined and never counts as the latest version, so a row dated 2100
-- cannot freeze a completion's status.
-- Volume guard: built after the raw load passed its guards (models/audit).
-- Incremental (docs/models.md, "Incremental end to end"): a run reads only the raw rows
-- replicated since the table's latest loaded_at minus var('incremental_lookback_hours') (a
-- constant, so BigQuery prunes the _loaded_at partitions) and re-decides every row of the
-- completions they touch, together with the completions whose answer can change without a
-- new row of their own: a row waiting for its parent (unknown_fk), a task or offer replicated
-- again (its staged offer may differ), a user erased since. The older rows of those
-- completions come from this table, not from raw. Rows are merged on raw_row_key; an erased
-- user's rows get a new key (their content changes), so the post-hook deletes the old ones.
-- Result: the same rows and dispositions as a full rebuild (tests/python/test_guarantees_incremental.py).
{{
    config(
        materialized='incremental',
        unique_key='raw_row_key',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        cluster_by=(['completion_id'] if target.type == 'bigquery' else none),
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'raw_row_key',"
            ~ " 'user_id in (select user_id from ' ~ ref('stg_ops__gdpr_erasure_requests') ~ ')') }}{% endif %}"
        ],
    )
}}
{%- set since = incremental_since() if is_incremental_run() else none %}
{% if source_model() == 'v1' -%}
-- depends_on: {{ ref('audit_raw_load_profile') }}
{%- endif %}
with

source as (
    {#- source_model(): with v2 the same rules read the v2 projection (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__user_offers_as_v1') }}
    {% else %}
        select * from {{ source('offerwall', 'user_offers') }}
    {% endif %}
    {%- if since %}
        where _loaded_at > {{ since }}
    {%- endif %}
),

base_offerwall__offer_tasks as (
    select * from {{ ref('base_offerwall__offer_tasks') }}
),

base_offerwall__offers as (
    select * from {{ ref('base_offerwall__offers') }}
),

base_offerwall__users as (
    select * from {{ ref('base_offerwall__users') }}
),

stg_ops__gdpr_erasure_requests as (
    select * from {{ ref('stg_ops__gdpr_erasure_requests') }}
),

snp_offerwall__offer_tasks as (
    {#- source_model(): v2 has the versions in the source (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__offer_task_versions_as_v1') }}
    {% else %}
        select * from {{ ref('snp_offerwall__offer_tasks') }}
    {% endif %}
),

snp_offerwall__offers as (
    {#- source_model(): v2 has the versions in the source (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__offer_versions_as_v1') }}
    {% else %}
        select * from {{ ref('snp_offerwall__offers') }}
    {% endif %}
),

cleaned_source as (
    select
        -- ids
        source.id as completion_id,
        coalesce(erasure.erased_user_id, trim(source.user_id)) as user_id,
        source.offer_id,
        source.offer_task_id,

        erasure.user_id is not null as is_erased,

        -- status and context
        {{ clean_code('source.status') }} as status,
        {{ clean_code('source.country', 'upper') }} as country,
        {{ clean_code('source.device_platform') }} as device_platform,
        case when erasure.user_id is null then source.ip_hash end as ip_hash,
        case when erasure.user_id is null then source.device_hash end as device_hash,

        -- amounts
        source.reward_coins,
        source.payout_cents,

        -- timestamps
        source.started_at,
        source.completed_at,
        source.updated_at,
        source._loaded_at as loaded_at
    from source
    left join stg_ops__gdpr_erasure_requests as erasure
        on trim(source.user_id) = erasure.user_id
),

{% if since %}
    -- the rows already in this table, except those read again from raw (loaded after `since`)
    previous as (
        select * from {{ this }}
        where loaded_at <= {{ since }}
    ),

    touched_completions as (
        select completion_id from cleaned_source
        union distinct
        select completion_id from previous
        where reason = 'unknown_fk'
        union distinct
        select previous.completion_id
        from previous
        inner join stg_ops__gdpr_erasure_requests as erasure
            on previous.user_id = erasure.user_id
        union distinct
        select previous.completion_id
        from previous
        inner join base_offerwall__offer_tasks as tasks
            on previous.offer_task_id = tasks.offer_task_id
        where tasks.loaded_at > {{ since }}
        union distinct
        select previous.completion_id
        from previous
        inner join base_offerwall__offers as offers
            on previous.offer_id = offers.offer_id
        where offers.loaded_at > {{ since }}
    ),

    -- already cleaned: the cleaning is idempotent; a user erased since is swapped now
    cleaned_previous as (
        select
            -- ids
            previous.completion_id,
            coalesce(erasure.erased_user_id, previous.user_id) as user_id,
            previous.offer_id,
            previous.offer_task_id,

            erasure.user_id is not null
            or previous.user_id in (select erased.erased_user_id from stg_ops__gdpr_erasure_requests as erased)
            as is_erased,

            -- status and context
            previous.status,
            previous.country,
            previous.device_platform,
            case when erasure.user_id is null then previous.ip_hash end as ip_hash,
            case when erasure.user_id is null then previous.device_hash end as device_hash,

            -- amounts
            previous.reward_coins,
            previous.payout_cents,

            -- timestamps
            previous.started_at,
            previous.completed_at,
            previous.updated_at,
            previous.loaded_at
        from previous
        left join stg_ops__gdpr_erasure_requests as erasure
            on previous.user_id = erasure.user_id
        where previous.completion_id in (select touched.completion_id from touched_completions as touched)
    ),

    cleaned as (
        select * from cleaned_source
        union all
        select * from cleaned_previous
    ),
{% else %}
    cleaned as (
        select * from cleaned_source
    ),
{% endif %}

-- a parent is known when the replica has a row of it (any disposition) or history has one
task_ids as (
    select
        offer_task_id,
        case when disposition = 'staged' then offer_id end as staged_offer_id
    from base_offerwall__offer_tasks
    where offer_task_id is not null
    union all
    select
        offer_task_id,
        null as staged_offer_id
    from snp_offerwall__offer_tasks
),

tasks as (
    select
        offer_task_id,
        max(staged_offer_id) as staged_offer_id
    from task_ids
    group by 1
),

offer_ids as (
    select offer_id from base_offerwall__offers
    where offer_id is not null
    union distinct
    select offer_id from snp_offerwall__offers
),

users as (
    select distinct user_id
    from base_offerwall__users
    where user_id is not null
),

fingerprinted as (
    select
        cleaned.*,
        users.user_id is not null or cleaned.is_erased as is_user_known,
        tasks.offer_task_id is not null as is_task_known,
        offer_ids.offer_id is not null as is_offer_known,
        tasks.staged_offer_id as task_offer_id,
        {{ row_fingerprint([
            'cleaned.user_id', 'cleaned.offer_id', 'cleaned.offer_task_id', 'cleaned.status',
            'cleaned.country', 'cleaned.device_platform', 'cleaned.ip_hash', 'cleaned.device_hash',
            'cleaned.reward_coins', 'cleaned.payout_cents', 'cleaned.started_at', 'cleaned.completed_at',
        ]) }} as row_fingerprint
    from cleaned
    left join tasks
        on cleaned.offer_task_id = tasks.offer_task_id
    left join offer_ids
        on cleaned.offer_id = offer_ids.offer_id
    left join users
        on cleaned.user_id = users.user_id
),

{{ disposition_ctes(
    relation='fingerprinted',
    entity_key='completion_id',
    version_columns=['updated_at', 'loaded_at'],
    own_rules=[
        ['null_key', 'completion_id is null or user_id is null or offer_id is null or offer_task_id is null or completed_at is null or updated_at is null'],
        ['unknown_status', "coalesce(status, '') not in ('pending', 'credited', 'reversed', 'rejected')"],
        ['null_amount', 'reward_coins is null or payout_cents is null'],
        ['negative_amount', 'reward_coins < 0 or payout_cents < 0'],
        ['absurd_amount', absurd_amount_condition('reward_coins', 'payout_cents')],
        ['completed_before_started', 'completed_at < started_at'],
        ['completed_in_future', 'completed_at > loaded_at'],
        ['updated_in_future', future_condition('updated_at', 'loaded_at')],
        ['status_change_before_completion', 'updated_at < completed_at'],
        ['unknown_fk', 'not is_user_known or not is_task_known or not is_offer_known'],
    ],
    parent_rules=[
        ['unknown_fk', 'task_offer_id <> offer_id'],
    ],
    unordered_reasons=['updated_in_future', 'status_change_before_completion'],
) }},

final as (
    select
        -- ids
        {{ row_key([
            'completion_id', 'updated_at', 'loaded_at', 'row_fingerprint', 'copy_number',
        ]) }} as raw_row_key,
        completion_id,
        user_id,
        offer_id,
        offer_task_id,

        -- status and context
        status,
        country,
        device_platform,
        ip_hash,
        device_hash,

        -- amounts
        reward_coins,
        payout_cents,

        -- disposition
        disposition,
        reason,

        -- timestamps
        started_at,
        completed_at,
        updated_at,
        loaded_at
    from dispositioned
)

select * from final
