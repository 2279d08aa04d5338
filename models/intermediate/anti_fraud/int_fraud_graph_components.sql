-- One row per user with at least one link in int_user_links: the connected component of the
-- account graph the user belongs to, found by `fraud_graph_label_passes` passes of min-label
-- propagation (each user starts with its own id as label; a pass gives every user the least
-- label among itself and its neighbours). The passes are unrolled below, so the SQL is plain
-- joins on both engines. A component whose diameter exceeds the passes is split in a few;
-- `is_converged` is false for users whose label still moved in the last pass.
{%- set passes = var('fraud_graph_label_passes') %}
{{ config(materialized='table') }}

with

int_user_links as (
    select * from {{ ref('int_user_links') }}
),

-- each undirected link in both directions, and every user linked to itself, so one join per
-- pass reads the previous labels once (BigQuery evaluates a CTE each time it is referenced)
edges as (
    select
        user_a_id as user_id,
        user_b_id as neighbour_id
    from int_user_links
    union distinct
    select
        user_b_id as user_id,
        user_a_id as neighbour_id
    from int_user_links
),

users as (
    select distinct user_id
    from edges
),

edges_and_self as (
    select
        user_id,
        neighbour_id
    from edges
    union all
    select
        user_id,
        user_id as neighbour_id
    from users
),

labels_0 as (
    select
        user_id,
        user_id as component_id
    from users
),
{% for i in range(1, passes + 1) %}
    labels_{{ i }} as (
        select
            edges_and_self.user_id,
            min(neighbours.component_id) as component_id
        from edges_and_self
        inner join labels_{{ i - 1 }} as neighbours
            on edges_and_self.neighbour_id = neighbours.user_id
        group by edges_and_self.user_id
    ),
{% endfor %}
final as (
    select
        last_pass.user_id,
        last_pass.component_id,
        last_pass.component_id = previous_pass.component_id as is_converged
    from labels_{{ passes }} as last_pass
    inner join labels_{{ passes - 1 }} as previous_pass
        on last_pass.user_id = previous_pass.user_id
)

select * from final
