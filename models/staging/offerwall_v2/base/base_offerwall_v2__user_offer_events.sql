{#
    Incremental on ingestion time: a run reads the events ingested since the latest one it
    holds, minus var('incremental_lookback_hours') (late commits of the outbox), and
    replaces the rows it re-reads (unique_key: event_row_key), so a rerun or an overlap
    never doubles a row and the table equals a full refresh. Only row-intrinsic facts are
    stored (the row's own rule broken, its fingerprint); duplicates, conflicts and parents
    are decided downstream in views, over every stored row. BigQuery: merge into a table
    partitioned by day of ingested_at and clustered by event_type, user_id.
    GDPR (docs/privacy.md): an erased user's events are stored with the surrogate id and no IP
    or device hash, like every other table; a run also re-reads from this table the stored
    events of users erased since (their content, fingerprint and key change) and the post-hook
    deletes the rows they replace, so the original id leaves the table on the next build.
#}
{{
    config(
        materialized='incremental',
        unique_key='event_row_key',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        on_schema_change='append_new_columns',
        partition_by=(
            {'field': 'ingested_at', 'data_type': 'timestamp', 'granularity': 'day'}
            if target.type == 'bigquery' else none
        ),
        cluster_by=(['event_type', 'user_id'] if target.type == 'bigquery' else none),
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'event_row_key',"
            ~ " 'user_id in (select user_id from ' ~ ref('stg_ops__gdpr_erasure_requests') ~ ')') }}{% endif %}"
        ],
    )
}}

with

source as (
    select * from {{ source('offerwall_v2', 'user_offer_events') }}
    {% if is_incremental_run() %}
        where ingested_at >= (
            select {{ dbt.dateadd('hour', -var('incremental_lookback_hours'), 'max(ingested_at)') }}
            from {{ this }}
        )
    {% endif %}
),

stg_ops__gdpr_erasure_requests as (
    select * from {{ ref('stg_ops__gdpr_erasure_requests') }}
),

{% if is_incremental_run() %}
    -- stored events of users erased since they were stored (not re-read from the source above)
    newly_erased as (
        select
            stored.idempotency_key,
            stored.event_type,
            stored.schema_version,
            stored.event_time,
            stored.ingested_at,
            stored.user_id,
            stored.offer_id,
            stored.offer_version_id,
            stored.user_offer_id,
            stored.impression_id,
            stored.completion_id,
            stored.offer_task_id,
            stored.offer_task_version_id,
            stored.reward_coins,
            stored.payout_cents,
            stored.started_at,
            stored.completed_at,
            stored.country,
            stored.device_platform,
            stored.ip_hash,
            stored.device_hash,
            stored.event_reason as reason,
            stored.placement,
            stored.display_position as position, -- noqa: RF04
            stored.shown_reward_coins,
            stored.base_reward_coins,
            stored.experiment_id,
            stored.variant_id
        from {{ this }} as stored
        inner join stg_ops__gdpr_erasure_requests as erasure
            on stored.user_id = erasure.user_id
        where stored.ingested_at < (
            select {{ dbt.dateadd('hour', -var('incremental_lookback_hours'), 'max(ingested_at)') }}
            from {{ this }}
        )
    ),
{% endif %}

events as (
    select
        idempotency_key,
        event_type,
        schema_version,
        event_time,
        ingested_at,
        user_id,
        offer_id,
        offer_version_id,
        user_offer_id,
        impression_id,
        completion_id,
        offer_task_id,
        offer_task_version_id,
        reward_coins,
        payout_cents,
        started_at,
        completed_at,
        country,
        device_platform,
        ip_hash,
        device_hash,
        reason,
        placement,
        position,
        shown_reward_coins,
        base_reward_coins,
        experiment_id,
        variant_id
    from source
    {% if is_incremental_run() %}
        union all
        select * from newly_erased
    {% endif %}
),

cleaned as (
    select
        -- envelope
        trim(idempotency_key) as idempotency_key,
        {{ clean_code('event_type') }} as event_type,
        schema_version,
        event_time,
        ingested_at,

        -- ids (GDPR: an erased user's surrogate id)
        coalesce(erasure.erased_user_id, trim(events.user_id)) as user_id,
        offer_id,
        offer_version_id,
        user_offer_id,
        impression_id,
        completion_id,
        offer_task_id,
        offer_task_version_id,

        -- completion payload
        reward_coins,
        payout_cents,
        started_at,
        completed_at,
        {{ clean_code('country', 'upper') }} as country,
        {{ clean_code('device_platform') }} as device_platform,
        case when erasure.user_id is null then events.ip_hash end as ip_hash,
        case when erasure.user_id is null then events.device_hash end as device_hash,
        reason as event_reason,

        -- personalised display
        placement,
        position as display_position,
        shown_reward_coins,
        base_reward_coins,
        experiment_id,
        variant_id
    from events
    left join stg_ops__gdpr_erasure_requests as erasure
        on trim(events.user_id) = erasure.user_id
),

checked as (
    select
        *,
        event_type in ('task_completed', 'credited', 'reversed', 'rejected') as is_completion_event,
        {{ row_fingerprint([
            'event_type', 'schema_version', 'event_time', 'user_id', 'offer_id', 'offer_version_id',
            'user_offer_id', 'impression_id', 'completion_id', 'offer_task_id', 'offer_task_version_id',
            'reward_coins', 'payout_cents', 'started_at', 'completed_at', 'country', 'device_platform',
            'ip_hash', 'device_hash', 'event_reason', 'placement', 'display_position',
            'shown_reward_coins', 'experiment_id', 'variant_id',
        ]) }} as row_fingerprint
    from cleaned
),

reasoned as (
    select
        *,
        {{ first_failed_rule([
            ['null_key', 'idempotency_key is null or event_type is null or event_time is null or ingested_at is null or user_id is null or offer_id is null'],
            ['unknown_event_type', "event_type not in ('offer_impression', 'offer_started', 'task_completed', 'credited', 'reversed', 'rejected')"],
            ['null_key', 'is_completion_event and (completion_id is null or offer_task_id is null or completed_at is null)'],
            ['null_amount', 'is_completion_event and (reward_coins is null or payout_cents is null)'],
            ['negative_amount', 'is_completion_event and (reward_coins < 0 or payout_cents < 0)'],
            ['absurd_amount', 'is_completion_event and ' ~ absurd_amount_condition('reward_coins', 'payout_cents')],
            ['completed_before_started', 'is_completion_event and completed_at < started_at'],
            ['completed_in_future', 'is_completion_event and completed_at > ingested_at'],
            ['event_in_future', 'event_time > ingested_at'],
            ['missing_reason', "event_type in ('reversed', 'rejected') and event_reason is null"],
            ['incomplete_display', "event_type = 'offer_impression' and (placement is null or display_position is null or variant_id is null or offer_version_id is null)"],
        ]) }} as own_reason,
        row_number() over (
            partition by idempotency_key, ingested_at, row_fingerprint
            order by row_fingerprint
        ) as copy_number
    from checked
),

final as (
    select
        -- ids
        {{ row_key(['idempotency_key', 'ingested_at', 'row_fingerprint', 'copy_number']) }} as event_row_key,
        idempotency_key,
        copy_number,
        row_fingerprint,

        -- envelope
        event_type,
        schema_version,
        is_completion_event,
        own_reason,

        -- ids
        user_id,
        offer_id,
        offer_version_id,
        user_offer_id,
        impression_id,
        completion_id,
        offer_task_id,
        offer_task_version_id,

        -- completion payload
        reward_coins,
        payout_cents,
        country,
        device_platform,
        ip_hash,
        device_hash,
        event_reason,

        -- personalised display
        placement,
        display_position,
        shown_reward_coins,
        base_reward_coins,
        experiment_id,
        variant_id,

        -- timestamps
        started_at,
        completed_at,
        event_time,
        ingested_at
    from reasoned
)

select * from final
