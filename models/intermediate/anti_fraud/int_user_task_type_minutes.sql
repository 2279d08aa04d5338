-- One row per user and task type they completed: the moments of the user's completion minutes
-- of that type (timed completions, sum, sum of squares; exact decimals, so a recomputed user
-- gets the same values to the last digit whatever order the rows are summed in), from which
-- int_user_behaviour_features computes the speed features against the task types' current
-- medians (the medians move every day; these moments do not depend on them).
-- Incremental (docs/models.md, "Incremental end to end"): a run recomputes the users whose
-- completions_fingerprint in int_user_completion_stats (built just before, the change
-- detector) differs from the one stored here, plus new and vanished users. A touched user's
-- stored task types that no longer occur are written with task_type_completions = 0 and
-- deleted by the post-hook. Merged on user_task_type_key (task_type may be NULL: a task never
-- clean, its raw type unknown).
{{
    config(
        materialized='incremental',
        unique_key='user_task_type_key',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        cluster_by=(['user_task_type_key'] if target.type == 'bigquery' else none),
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'user_task_type_key',"
            ~ " 'task_type_completions = 0') }}{% endif %}"
        ],
    )
}}

with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

int_user_completion_stats as (
    select * from {{ ref('int_user_completion_stats') }}
),

{% if is_incremental_run() %}
    previous_users as (
        select distinct
            user_id,
            completions_fingerprint
        from {{ this }}
    ),

    -- new users, users whose completions changed, users whose completions all left
    touched_users as (
        select coalesce(stats.user_id, previous_users.user_id) as user_id
        from int_user_completion_stats as stats
        full outer join previous_users
            on stats.user_id = previous_users.user_id
        where previous_users.user_id is null
            or stats.user_id is null
            or stats.completions_fingerprint is null
            or previous_users.completions_fingerprint is null
            or stats.completions_fingerprint <> previous_users.completions_fingerprint
    ),

    completions_batch as (
        select * from int_task_completions_versioned
        where user_id in (select touched_users.user_id from touched_users)
    ),
{% else %}
    completions_batch as (
        select * from int_task_completions_versioned
    ),
{% endif %}

per_task_type as (
    select
        user_id,
        task_type,
        count(*) as task_type_completions,
        count(minutes_to_complete) as timed_completions,
        sum(minutes_to_complete) as minutes_sum,
        sum(minutes_to_complete * minutes_to_complete) as minutes_sq_sum
    from completions_batch
    group by user_id, task_type
),

recomputed as (
    select
        -- ids
        {{ dbt.concat(['per_task_type.user_id', "'|'", "coalesce(per_task_type.task_type, '')"]) }}
            as user_task_type_key,
        per_task_type.user_id,
        -- dimensions
        per_task_type.task_type,
        -- moments of minutes_to_complete
        per_task_type.task_type_completions,
        per_task_type.timed_completions,
        per_task_type.minutes_sum,
        per_task_type.minutes_sq_sum,
        -- the user's fingerprint these rows were computed for (int_user_completion_stats)
        stats.completions_fingerprint
    from per_task_type
    left join int_user_completion_stats as stats
        on per_task_type.user_id = stats.user_id
),

{% if is_incremental_run() %}
    -- a touched user's task type that no longer occurs: task_type_completions = 0, deleted by the post-hook
    final as (
        select * from recomputed
        union all
        select
            -- ids
            previous.user_task_type_key,
            previous.user_id,
            -- dimensions
            previous.task_type,
            -- moments
            0 as task_type_completions,
            0 as timed_completions,
            previous.minutes_sum,
            previous.minutes_sq_sum,
            -- fingerprint
            previous.completions_fingerprint
        from {{ this }} as previous
        where previous.user_id in (select touched_users.user_id from touched_users)
            and previous.user_task_type_key not in (select recomputed.user_task_type_key from recomputed)
    )
{% else %}
    final as (
        select * from recomputed
    )
{% endif %}

select * from final
