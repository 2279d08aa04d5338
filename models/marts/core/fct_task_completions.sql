{#
    Incremental: see docs/models.md ("The completion fact"). DuckDB: delete+insert on
    completion_id. BigQuery: merge on completion_id into a table partitioned by day of
    completed_date and clustered by offer_id, user_id.
#}
{{
    config(
        materialized='incremental',
        unique_key='completion_id',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        on_schema_change='append_new_columns',
        partition_by=(
            {'field': 'completed_date', 'data_type': 'date', 'granularity': 'day'}
            if target.type == 'bigquery' else none
        ),
        cluster_by=(['offer_id', 'user_id'] if target.type == 'bigquery' else none),
        post_hook=["{{ fct_task_completions_delete_orphans() }}"],
    )
}}

-- depends_on: {{ ref('int_offer_task_versions') }}
with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

{% if is_incremental_run() %}
    {{ fct_task_completions_batch_ctes(
        completions='int_task_completions_versioned',
        task_versions=ref('int_offer_task_versions'),
    ) }},
{% else %}
    completions_batch as (
        select * from int_task_completions_versioned
    ),
{% endif %}

final as (
    select
        -- ids
        completion_id,
        user_id,
        offer_id,
        offer_task_id,
        offer_task_version_id,

        -- status and context
        status,
        task_type,
        task_position,
        country,
        device_platform,
        ip_hash,
        device_hash,

        -- nominal amounts (the completion's own)
        payout_usd,
        reward_usd,

        -- recognised amounts (zero unless credited)
        revenue_usd,
        reward_cost_usd,
        margin_usd,

        -- flags
        is_reversed,
        has_amount_mismatch,
        is_parent_inferred,
        is_before_task_created,

        -- durations
        minutes_to_complete,

        -- timestamps
        started_at,
        completed_at,
        completed_date,
        updated_at,
        loaded_at
    from completions_batch
)

select * from final
