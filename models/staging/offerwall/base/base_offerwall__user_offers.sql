-- Every raw.user_offers row, typed and cleaned, with its disposition: `staged` (the latest
-- version of the completion: latest updated_at, then _loaded_at), `superseded` (an older
-- version or an exact copy) or `quarantined` (breaks a rule of docs/source_system.md; `reason`
-- names the first one). An id whose latest version is bad is not staged at all: its older
-- versions are superseded, never promoted.
-- Joins: the GDPR erasure list (user ids replaced before anything else sees them) and the
-- parents: unknown_fk when the user, task or offer is not in the replica at all (or the task
-- belongs to another offer); parent_quarantined when the task or offer exists but is bad
-- (a completion of a user whose users row is bad stays: dim_users keeps such users).
with

source as (
    {#- source_model(): with v2 the same rules read the v2 projection (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__user_offers_as_v1') }}
    {% else %}
        select * from {{ source('offerwall', 'user_offers') }}
    {% endif %}
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

stg_gdpr__erasure_requests as (
    select * from {{ ref('stg_gdpr__erasure_requests') }}
),

cleaned as (
    select
        -- ids
        source.id as completion_id,
        coalesce(erasure.erased_user_id, trim(source.user_id)) as user_id,
        source.offer_id,
        source.offer_task_id,

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
    left join stg_gdpr__erasure_requests as erasure
        on trim(source.user_id) = erasure.user_id
),

tasks as (
    select
        offer_task_id,
        max(case when disposition = 'staged' then offer_id end) as staged_offer_id,
        max(case when disposition = 'staged' then 1 else 0 end) = 1 as is_staged
    from base_offerwall__offer_tasks
    where offer_task_id is not null
    group by 1
),

offers as (
    select
        offer_id,
        max(case when disposition = 'staged' then 1 else 0 end) = 1 as is_staged
    from base_offerwall__offers
    where offer_id is not null
    group by 1
),

users as (
    select distinct user_id
    from base_offerwall__users
    where user_id is not null
),

fingerprinted as (
    select
        cleaned.*,
        users.user_id is not null as is_user_known,
        tasks.offer_task_id is not null as is_task_known,
        offers.offer_id is not null as is_offer_known,
        tasks.staged_offer_id as task_offer_id,
        coalesce(tasks.is_staged, false) as is_task_staged,
        coalesce(offers.is_staged, false) as is_offer_staged,
        {{ row_fingerprint([
            'cleaned.user_id', 'cleaned.offer_id', 'cleaned.offer_task_id', 'cleaned.status',
            'cleaned.country', 'cleaned.device_platform', 'cleaned.ip_hash', 'cleaned.device_hash',
            'cleaned.reward_coins', 'cleaned.payout_cents', 'cleaned.started_at', 'cleaned.completed_at',
        ]) }} as row_fingerprint
    from cleaned
    left join tasks
        on cleaned.offer_task_id = tasks.offer_task_id
    left join offers
        on cleaned.offer_id = offers.offer_id
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
        ['unknown_fk', 'not is_user_known or not is_task_known or not is_offer_known'],
    ],
    parent_rules=[
        ['parent_quarantined', 'not is_task_staged or not is_offer_staged'],
        ['unknown_fk', 'task_offer_id <> offer_id'],
    ],
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
