{#
    Incremental: see docs/models.md ("The completion fact"). DuckDB: delete+insert on
    completion_id. BigQuery: merge on completion_id into a table partitioned by day of
    completed_date and clustered by offer_id, user_id.

    On an incremental run a completion is in the batch (completions_batch) when
      1. its latest version was replicated after the fact's watermark (max loaded_at in the
         fact) minus var('incremental_lookback_hours') for replication lag: every status change
         (pending -> credited -> reversed, however late: a chargeback 90+ days after the
         completion arrives as a new replicated version) lands this way;
      2. or the task version the fact joined it to is no longer valid at its completed_at:
         the snapshot captured a newer version of the task valid from before the completion
         (an edit that reached the warehouse late), so the point-in-time join is redone. Checked
         against the fact itself, not by timestamps, so a backdated replica row is caught too;
      3. or its user is GDPR-erased (user id starts with var('erased_user_prefix')): the few
         erased users' rows are rewritten on every run, so an erasure request (ops source) reaches
         the fact on the next build, whatever the rows' age;
      4. or it is not in the fact yet (e.g. a row that was quarantined and is now clean);
      5. or the fact has it with is_parent_inferred (its task or offer had no clean version):
         the few such rows are re-joined on every run, so they link to the parent's first
         clean version as soon as it exists. A fact built before the flag existed is rewritten
         whole once (on_schema_change appends the column).
    With unique_key completion_id the batch replaces the fact's rows; the post-hook deletes the
    completions that left int_task_completions_versioned (their latest version went to
    quarantine). Result: the incremental fact equals a full refresh (nothing to delete on a
    full refresh).
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
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'completion_id',"
            ~ " 'completion_id not in (select completion_id from '"
            ~ " ~ ref('int_task_completions_versioned') ~ ')') }}{% endif %}"
        ],
    )
}}

-- depends_on: {{ ref('int_offer_task_versions') }}
with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

{% if is_incremental_run() %}
    {%- set has_flag = true -%}
    {%- if execute and this is not string and not var('assume_incremental', false) -%}
        {%- set existing_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- set existing_columns = existing_columns | map('lower') | list -%}
        {%- set has_flag = 'is_parent_inferred' in existing_columns -%}
    {%- endif %}
    int_offer_task_versions as (
        select * from {{ ref('int_offer_task_versions') }}
    ),

    watermark as (
        select max(loaded_at) - interval {{ var('incremental_lookback_hours') }} hour as loaded_after
        from {{ this }}
    ),

    stale_version_joins as (
        select fact.completion_id
        from {{ this }} as fact
        inner join int_offer_task_versions as task_versions
            on fact.offer_task_version_id = task_versions.offer_task_version_id
        where task_versions.valid_to <= fact.completed_at
    ),

    completions_batch as (
        select completions.*
        from int_task_completions_versioned as completions
        cross join watermark
        where completions.loaded_at > watermark.loaded_after
            or completions.completion_id in (select stale.completion_id from stale_version_joins as stale)
            or starts_with(completions.user_id, '{{ var("erased_user_prefix") }}')
            or completions.completion_id not in (select fact.completion_id from {{ this }} as fact)
            -- a fact built before the inferred-parent flag existed is rebuilt whole (has_flag false)
            {%- if has_flag %}
                or completions.completion_id in (
                    select fact.completion_id from {{ this }} as fact where fact.is_parent_inferred
                )
            {%- else %}
                or true
            {%- endif %}
    ),
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
