-- One row per pair of users (user_a_id < user_b_id) that acted together on one occasion, link
-- kind `co_sequence`: both completed the same task within `fraud_graph_coactivity_minutes` of
-- each other and then the same further tasks in the same order within
-- `fraud_graph_sequence_hours` (at least `fraud_graph_sequence_min_tasks` tasks with the first),
-- at a moment when that many users acting together is rare: the users with such a sequence
-- around the first completion (its crowd) are at least `fraud_graph_sequence_min_surprise`
-- times the users expected there by chance (the task's completions per window over its life).
-- One such day is enough: a group starting an offer nobody else is doing at that hour stands
-- out the first time, while a pair on a popular offer (many expected) does not.
-- evidence_count: the longest sequence the pair did together.
{%- set window_seconds = var('fraud_graph_coactivity_minutes') * 60 %}
{%- set sequence_seconds = var('fraud_graph_sequence_hours') * 3600 %}
{{ config(materialized='table') }}

with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

timed as (
    select
        user_id,
        offer_task_id,
        {{ epoch_seconds('completed_at') }} as completed_second,
        cast(
            floor({{ epoch_seconds('completed_at') }} / {{ window_seconds }})
            as {{ dbt.type_bigint() }}
        ) as time_bucket
    from int_task_completions_versioned
    where completed_at is not null
),

-- users expected to complete a task within the window of any moment by chance: its
-- completions spread evenly over its life (at least a day)
task_rates as (
    select
        offer_task_id,
        count(*) * {{ 2 * window_seconds }}
        / greatest(max(completed_second) - min(completed_second), 86400) as expected_in_window
    from timed
    group by offer_task_id
),

-- each completion under its own and its two neighbouring buckets (`neighbours`, macro
-- window_neighbours): the join below is an equality on (task, bucket)
{{ window_neighbours('timed', ['user_id', 'offer_task_id', 'completed_second']) }}

-- directed: each user's completion (the anchor) with every other user's of the same task
-- within the window
all_anchors as (
    select
        a.user_id,
        b.user_id as partner_id,
        a.offer_task_id as anchor_task_id,
        a.completed_second as anchor_second,
        b.completed_second as partner_second
    from timed as a
    inner join neighbours as b
        on
        a.offer_task_id = b.offer_task_id
        and a.time_bucket = b.time_bucket
        and a.user_id != b.user_id
    where abs(b.completed_second - a.completed_second) <= {{ window_seconds }}
),

-- The crowd of an anchor (below) counts partners with a long sequence, so it is at most the
-- anchor's partners in the window: an anchor with fewer partners than the surprise asks for
-- cannot be surprising and is dropped before the sequences are joined. Exact (same links), and
-- most anchors go: at 10M rows 9.0 s instead of 63.9 s for the model (docs/benchmark.md).
possible_anchors as (
    select
        all_anchors.user_id,
        all_anchors.anchor_task_id,
        all_anchors.anchor_second
    from all_anchors
    inner join task_rates
        on all_anchors.anchor_task_id = task_rates.offer_task_id
    group by
        all_anchors.user_id,
        all_anchors.anchor_task_id,
        all_anchors.anchor_second,
        task_rates.expected_in_window
    having
        count(distinct all_anchors.partner_id)
        >= {{ var('fraud_graph_sequence_min_surprise') }} * task_rates.expected_in_window
),

anchors as (
    select all_anchors.*
    from all_anchors
    inner join possible_anchors
        on
        all_anchors.user_id = possible_anchors.user_id
        and all_anchors.anchor_task_id = possible_anchors.anchor_task_id
        and all_anchors.anchor_second = possible_anchors.anchor_second
),

-- the tasks each of them completed after the anchor, within the sequence's hours
{% for side, who, when in [('user', 'user_id', 'anchor_second'), ('partner', 'partner_id', 'partner_second')] %}
    {{ side }}_next as (
        select
            anchors.user_id,
            anchors.partner_id,
            anchors.anchor_task_id,
            anchors.anchor_second,
            later.offer_task_id,
            later.completed_second
        from anchors
        inner join timed as later
            on
            anchors.{{ who }} = later.user_id
            and anchors.{{ when }} < later.completed_second
            and anchors.{{ when }} + {{ sequence_seconds }} >= later.completed_second
    ),

{% endfor %}
-- the later tasks both did, ranked in each one's order: a task at the same rank for both is
-- in the same order
shared_next as (
    select
        user_next.user_id,
        user_next.partner_id,
        user_next.anchor_task_id,
        user_next.anchor_second,
        row_number() over (
            partition by user_next.user_id, user_next.partner_id, user_next.anchor_task_id, user_next.anchor_second
            order by user_next.completed_second, user_next.offer_task_id
        ) as user_rank,
        row_number() over (
            partition by user_next.user_id, user_next.partner_id, user_next.anchor_task_id, user_next.anchor_second
            order by partner_next.completed_second, partner_next.offer_task_id
        ) as partner_rank
    from user_next
    inner join partner_next
        on
        user_next.user_id = partner_next.user_id
        and user_next.partner_id = partner_next.partner_id
        and user_next.anchor_task_id = partner_next.anchor_task_id
        and user_next.anchor_second = partner_next.anchor_second
        and user_next.offer_task_id = partner_next.offer_task_id
),

sequences as (
    select
        user_id,
        partner_id,
        anchor_task_id,
        anchor_second,
        1 + count(case when user_rank = partner_rank then 1 end) as sequence_length
    from shared_next
    group by user_id, partner_id, anchor_task_id, anchor_second
),

long_sequences as (
    select *
    from sequences
    where sequence_length >= {{ var('fraud_graph_sequence_min_tasks') }}
),

-- the users acting together around one anchor completion
crowds as (
    select
        user_id,
        anchor_task_id,
        anchor_second,
        count(distinct partner_id) as crowd_size
    from long_sequences
    group by user_id, anchor_task_id, anchor_second
),

surprising as (
    select
        long_sequences.user_id,
        long_sequences.partner_id,
        long_sequences.sequence_length
    from long_sequences
    inner join crowds
        on
        long_sequences.user_id = crowds.user_id
        and long_sequences.anchor_task_id = crowds.anchor_task_id
        and long_sequences.anchor_second = crowds.anchor_second
    inner join task_rates
        on long_sequences.anchor_task_id = task_rates.offer_task_id
    where crowds.crowd_size >= {{ var('fraud_graph_sequence_min_surprise') }} * task_rates.expected_in_window
),

final as (
    select
        least(user_id, partner_id) as user_a_id,
        greatest(user_id, partner_id) as user_b_id,
        'co_sequence' as link_type,
        max(sequence_length) as evidence_count
    from surprising
    group by least(user_id, partner_id), greatest(user_id, partner_id)
)

select * from final
