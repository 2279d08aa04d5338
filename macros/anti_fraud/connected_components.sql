{#
    connected_components(links, passes): the CTEs that label each user of the undirected graph
    `links` (a CTE or relation with user_a_id, user_b_id) with the least user id reachable within
    `passes` passes of min-label propagation (each user starts with its own id; a pass gives
    every user the least label among itself and its neighbours). The passes are unrolled, so the
    SQL is plain joins on both engines (no recursion). Emits CTEs `cc_edges`, `cc_users`,
    `cc_edges_and_self`, `cc_labels_0` .. `cc_labels_<passes>` and `cc_components` (user_id,
    component_id, is_converged: false when the label still moved in the last pass), each followed
    by a comma: call it inside a `with` list, before the CTE that reads `cc_components`.
#}
{% macro connected_components(links, passes) -%}
-- each undirected link in both directions, and every user linked to itself, so one join per
-- pass reads the previous labels once (BigQuery evaluates a CTE each time it is referenced)
cc_edges as (
    select
        user_a_id as user_id,
        user_b_id as neighbour_id
    from {{ links }}
    union distinct
    select
        user_b_id as user_id,
        user_a_id as neighbour_id
    from {{ links }}
),

cc_users as (
    select distinct user_id
    from cc_edges
),

cc_edges_and_self as (
    select
        user_id,
        neighbour_id
    from cc_edges
    union all
    select
        user_id,
        user_id as neighbour_id
    from cc_users
),

cc_labels_0 as (
    select
        user_id,
        user_id as component_id
    from cc_users
),
{% for i in range(1, passes + 1) %}
    cc_labels_{{ i }} as (
        select
            cc_edges_and_self.user_id,
            min(neighbours.component_id) as component_id
        from cc_edges_and_self
        inner join cc_labels_{{ i - 1 }} as neighbours
            on cc_edges_and_self.neighbour_id = neighbours.user_id
        group by cc_edges_and_self.user_id
    ),
{% endfor %}
cc_components as (
    select
        last_pass.user_id,
        last_pass.component_id,
        last_pass.component_id = previous_pass.component_id as is_converged
    from cc_labels_{{ passes }} as last_pass
    inner join cc_labels_{{ passes - 1 }} as previous_pass
        on last_pass.user_id = previous_pass.user_id
),
{%- endmacro %}
