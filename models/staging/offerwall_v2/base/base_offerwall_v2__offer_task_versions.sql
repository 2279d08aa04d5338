-- Every offer_task_versions row, typed and cleaned, with its disposition: `staged` (one row
-- per version), `superseded` (an exact copy) or `quarantined` (`reason`: the first rule
-- broken). A version's own rules are v1's task rules; then `conflicting_duplicate` (two
-- different rows for one version id); then the task as a whole: a version of a task that
-- the v1 task rules do not stage (its latest version is bad, its offer unknown or bad) is
-- quarantined as `task_not_staged`, so history never holds a task the current state drops.
with

source as (
    select * from {{ source('offerwall_v2', 'offer_task_versions') }}
),

stg_offerwall__offer_tasks as (
    select * from {{ ref('stg_offerwall__offer_tasks') }}
),

cleaned as (
    select
        -- ids
        offer_task_version_id,
        offer_task_id,
        offer_id,
        version_number,

        -- descriptive
        position as task_position,
        trim(title) as title,
        {{ clean_code('task_type') }} as task_type,
        {{ clean_code('status') }} as status,

        -- amounts
        reward_coins,
        payout_cents,

        -- timestamps
        valid_from,
        created_at,
        _ingested_at as loaded_at
    from source
),

fingerprinted as (
    select
        cleaned.*,
        staged_tasks.offer_task_id is not null as is_task_staged,
        {{ row_fingerprint([
            'cleaned.offer_task_id', 'cleaned.offer_id', 'cleaned.version_number', 'cleaned.task_position',
            'cleaned.title', 'cleaned.task_type', 'cleaned.status', 'cleaned.reward_coins',
            'cleaned.payout_cents', 'cleaned.valid_from', 'cleaned.created_at',
        ]) }} as row_fingerprint
    from cleaned
    left join stg_offerwall__offer_tasks as staged_tasks
        on cleaned.offer_task_id = staged_tasks.offer_task_id
),

{{ disposition_ctes(
    relation='fingerprinted',
    entity_key='offer_task_version_id',
    version_columns=['loaded_at'],
    own_rules=[
        ['null_key', 'offer_task_version_id is null or offer_task_id is null or offer_id is null or version_number is null or valid_from is null or created_at is null'],
        ['unknown_status', "coalesce(status, '') not in ('active', 'disabled')"],
        ['unknown_task_type', "coalesce(task_type, '') not in ('install', 'signup', 'level', 'purchase', 'deposit', 'survey', 'other')"],
        ['null_amount', 'reward_coins is null or payout_cents is null'],
        ['negative_amount', 'reward_coins < 0 or payout_cents < 0'],
        ['absurd_amount', absurd_amount_condition('reward_coins', 'payout_cents')],
    ],
    parent_rules=[
        ['task_not_staged', 'not is_task_staged'],
    ],
) }},

final as (
    select
        -- ids
        {{ row_key(['offer_task_version_id', 'loaded_at', 'row_fingerprint', 'copy_number']) }} as raw_row_key,
        offer_task_version_id,
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
        payout_cents,

        -- disposition
        disposition,
        reason,

        -- timestamps
        valid_from,
        created_at,
        loaded_at
    from dispositioned
)

select * from final
