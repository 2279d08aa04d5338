-- One row per pair of users (user_a_id < user_b_id) who completed a task within
-- `fraud_graph_coactivity_minutes` of each other, per task and day (the day of user a's
-- completion): the co-activity evidence int_user_links counts. Plus one row with no pair
-- (user ids NULL) for each task and day with completions but no co-active pair, so that every
-- (task, day) with completions has its day_fingerprint stored.
-- Incremental (docs/models.md, "Incremental end to end"): a run compares each (task, day)'s
-- day_fingerprint (row_set_fingerprint of its completions' id, user and completed_at: what
-- co-activity reads) with the stored one; a changed, new or vanished (task, day) is touched,
-- whatever the reason (a new completion, an erasure renaming its user, a completion that left
-- staging, a changed completed_at). A pair is at most one midnight apart (the window is at most
-- a day), and only completions in a day's first or last window (its head, its tail) pair across
-- midnight: so a touched day is recomputed, and so is the day before when its head changed and
-- the day after when its tail changed (head and tail have their own fingerprints), from the
-- completions of those days and of the day either side of each. A recomputed day's stored
-- rows that no longer occur are written with day_completions = 0 and deleted by the post-hook.
-- Merged on evidence_key.
{%- set window_minutes = var('fraud_graph_coactivity_minutes') %}
{%- if window_minutes > 1440 %}
    {{ exceptions.raise_compiler_error('fraud_graph_coactivity_minutes must be at most a day (1440): the incremental run recomputes one day either side of a change') }}
{%- endif %}
{{
    config(
        materialized='incremental',
        unique_key='evidence_key',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        cluster_by=(['offer_task_id', 'coactive_date'] if target.type == 'bigquery' else none),
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'evidence_key', 'day_completions = 0') }}{% endif %}"
        ],
    )
}}

with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

completions as (
    select
        completion_id,
        user_id,
        offer_task_id,
        completed_at,
        completed_date,
        -- in the day's first / last window: the completions that can pair across midnight
        mod({{ epoch_seconds('completed_at') }}, 86400) <= {{ window_minutes * 60 }} as is_day_head,
        mod({{ epoch_seconds('completed_at') }}, 86400) >= {{ 86400 - window_minutes * 60 }} as is_day_tail
    from int_task_completions_versioned
    where completed_at is not null
),

-- each (task, day) with completions and the fingerprint of what co-activity reads of them,
-- of the whole day and of its head and tail
whole_days as (
    select
        offer_task_id,
        completed_date as coactive_date,
        count(*) as day_completions,
        {{ row_set_fingerprint(['completion_id', 'user_id', 'completed_at']) }} as day_fingerprint
    from completions
    group by offer_task_id, completed_date
),

{% for edge in ['head', 'tail'] %}
    day_{{ edge }}s as (
        select
            offer_task_id,
            completed_date,
            count(*) as {{ edge }}_completions,
            {{ row_set_fingerprint(['completion_id', 'user_id', 'completed_at']) }} as {{ edge }}_fingerprint
        from completions
        where is_day_{{ edge }}
        group by offer_task_id, completed_date
    ),

{% endfor %}
task_days as (
    select
        whole_days.offer_task_id,
        whole_days.coactive_date,
        whole_days.day_completions,
        whole_days.day_fingerprint,
        coalesce(day_heads.head_completions, 0) as head_completions,
        day_heads.head_fingerprint,
        coalesce(day_tails.tail_completions, 0) as tail_completions,
        day_tails.tail_fingerprint
    from whole_days
    left join day_heads
        on
        whole_days.offer_task_id = day_heads.offer_task_id
        and whole_days.coactive_date = day_heads.completed_date
    left join day_tails
        on
        whole_days.offer_task_id = day_tails.offer_task_id
        and whole_days.coactive_date = day_tails.completed_date
),

{% if is_incremental_run() %}
    day_shifts as (
        select -1 as shift
        union all
        select 0 as shift
        union all
        select 1 as shift
    ),

    previous_days as (
        select distinct
            offer_task_id,
            coactive_date,
            day_completions,
            day_fingerprint,
            head_completions,
            head_fingerprint,
            tail_completions,
            tail_fingerprint
        from {{ this }}
    ),

    compared_days as (
        select
            coalesce(task_days.offer_task_id, previous_days.offer_task_id) as offer_task_id,
            coalesce(task_days.coactive_date, previous_days.coactive_date) as coactive_date,
            -- new (task, day)s, changed ones, and those whose completions all left
            (
                previous_days.offer_task_id is null
                or task_days.offer_task_id is null
                or task_days.day_completions <> previous_days.day_completions
                or task_days.day_fingerprint is null
                or previous_days.day_fingerprint is null
                or task_days.day_fingerprint <> previous_days.day_fingerprint
            ) as is_touched,
            {% for edge in ['head', 'tail'] -%}
                -- a (task, day) with no {{ edge }} completion before or after: unchanged {{ edge }}
                (
                    coalesce(task_days.{{ edge }}_completions, 0) <> coalesce(previous_days.{{ edge }}_completions, 0)
                    or (
                        coalesce(task_days.{{ edge }}_completions, 0) > 0
                        and (
                            task_days.{{ edge }}_fingerprint is null
                            or previous_days.{{ edge }}_fingerprint is null
                            or task_days.{{ edge }}_fingerprint <> previous_days.{{ edge }}_fingerprint
                        )
                    )
                ) as is_{{ edge }}_touched{{ ',' if not loop.last }}
            {% endfor %}
        from task_days
        full outer join previous_days
            on
            task_days.offer_task_id = previous_days.offer_task_id
            and task_days.coactive_date = previous_days.coactive_date
    ),

    -- the days whose evidence is recomputed: a touched day, the day before when its head changed
    -- (pairs of that day's tail with this head), the day after when its tail changed
    recomputed_days as (
        select distinct
            compared_days.offer_task_id,
            {{ dbt.dateadd('day', 'day_shifts.shift', 'compared_days.coactive_date') }} as coactive_date
        from compared_days
        inner join day_shifts
            on
            (day_shifts.shift = 0 and compared_days.is_touched)
            or (day_shifts.shift = -1 and compared_days.is_head_touched)
            or (day_shifts.shift = 1 and compared_days.is_tail_touched)
    ),

    -- the days read to recompute them: each recomputed day and the day either side
    read_days as (
        select distinct
            recomputed_days.offer_task_id,
            {{ dbt.dateadd('day', 'day_shifts.shift', 'recomputed_days.coactive_date') }} as coactive_date
        from recomputed_days
        cross join day_shifts
    ),

    pair_sides as (
        select
            completions.*,
            recomputed_days.offer_task_id is not null as is_recomputed
        from completions
        inner join read_days
            on
            completions.offer_task_id = read_days.offer_task_id
            and completions.completed_date = cast(read_days.coactive_date as date)
        left join recomputed_days
            on
            completions.offer_task_id = recomputed_days.offer_task_id
            and completions.completed_date = cast(recomputed_days.coactive_date as date)
    ),

    days_batch as (
        select task_days.*
        from task_days
        inner join recomputed_days
            on
            task_days.offer_task_id = recomputed_days.offer_task_id
            and task_days.coactive_date = cast(recomputed_days.coactive_date as date)
    ),
{% else %}
    pair_sides as (
        select
            completions.*,
            true as is_recomputed
        from completions
    ),

    days_batch as (
        select * from task_days
    ),
{% endif %}

-- completions bucketed by time: a pair within the window is in the same or the next bucket,
-- and the self-join is an equality on (task, bucket) against `neighbours` (macro
-- window_neighbours)
timed as (
    select
        user_id,
        offer_task_id,
        completed_at,
        completed_date,
        is_recomputed,
        cast(
            floor({{ epoch_seconds('completed_at') }} / {{ window_minutes * 60 }})
            as {{ dbt.type_bigint() }}
        ) as time_bucket
    from pair_sides
),

{{ window_neighbours('timed', ['user_id', 'offer_task_id', 'completed_at']) }}

coactive_pairs as (
    select distinct
        a.offer_task_id,
        a.completed_date as coactive_date,
        a.user_id as user_a_id,
        b.user_id as user_b_id
    from timed as a
    inner join neighbours as b
        on
        a.offer_task_id = b.offer_task_id
        and a.time_bucket = b.time_bucket
        and a.user_id < b.user_id
    where
        a.is_recomputed
        and abs(
            {{ epoch_seconds('b.completed_at') }}
            - {{ epoch_seconds('a.completed_at') }}
        ) <= {{ window_minutes * 60 }}
),

-- the pairs of each (task, day), or one row with no pair
day_rows as (
    select
        days_batch.offer_task_id,
        days_batch.coactive_date,
        coactive_pairs.user_a_id,
        coactive_pairs.user_b_id,
        days_batch.day_completions,
        days_batch.day_fingerprint,
        days_batch.head_completions,
        days_batch.head_fingerprint,
        days_batch.tail_completions,
        days_batch.tail_fingerprint
    from days_batch
    left join coactive_pairs
        on
        days_batch.offer_task_id = coactive_pairs.offer_task_id
        and days_batch.coactive_date = coactive_pairs.coactive_date
),

recomputed as (
    select
        -- ids
        {{ dbt.concat([
            dbt.safe_cast('offer_task_id', dbt.type_string()), "'|'",
            dbt.safe_cast('coactive_date', dbt.type_string()), "'|'",
            "coalesce(user_a_id, '')", "'|'", "coalesce(user_b_id, '')",
        ]) }} as evidence_key,
        offer_task_id,
        user_a_id,
        user_b_id,
        -- dates
        coactive_date,
        -- the (task, day)'s completions and their fingerprints (the incremental run's change detector)
        day_completions,
        day_fingerprint,
        head_completions,
        head_fingerprint,
        tail_completions,
        tail_fingerprint
    from day_rows
),

{% if is_incremental_run() %}
    -- a recomputed day's stored row that no longer occurs: day_completions = 0, deleted by the post-hook
    final as (
        select * from recomputed
        union all
        select
            -- ids
            previous.evidence_key,
            previous.offer_task_id,
            previous.user_a_id,
            previous.user_b_id,
            -- dates
            previous.coactive_date,
            -- deletion mark
            0 as day_completions,
            previous.day_fingerprint,
            previous.head_completions,
            previous.head_fingerprint,
            previous.tail_completions,
            previous.tail_fingerprint
        from {{ this }} as previous
        inner join recomputed_days
            on
            previous.offer_task_id = recomputed_days.offer_task_id
            and previous.coactive_date = cast(recomputed_days.coactive_date as date)
        where previous.evidence_key not in (select recomputed.evidence_key from recomputed)
    )
{% else %}
    final as (
        select * from recomputed
    )
{% endif %}

select * from final
