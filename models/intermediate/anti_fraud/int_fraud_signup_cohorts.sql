-- One row per user linked (int_user_links, any kind) to an account that signed up within
-- `fraud_graph_signup_cohort_hours` of its own: its signup cohort, the connected component of
-- the graph of such links only (macro connected_components, `fraud_graph_label_passes` passes).
-- Label-free sign of coordination: accounts made in one burst that then share a referrer chain,
-- a device, a network or their tasks. Legitimate links (friends, households, a shared hotspot)
-- join accounts made days or weeks apart, so a legitimate user's cohort is rarely more than 2.
{%- set window_seconds = var('fraud_graph_signup_cohort_hours') * 3600 %}
{{ config(materialized='table') }}

with

int_user_links as (
    select * from {{ ref('int_user_links') }}
),

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

-- links between accounts that signed up close together (a pair linked in several ways once)
cohort_links as (
    select distinct
        links.user_a_id,
        links.user_b_id
    from int_user_links as links
    inner join stg_offerwall__users as user_a
        on links.user_a_id = user_a.user_id
    inner join stg_offerwall__users as user_b
        on links.user_b_id = user_b.user_id
    where
        abs(
            {{ epoch_seconds('user_b.signed_up_at') }}
            - {{ epoch_seconds('user_a.signed_up_at') }}
        ) <= {{ window_seconds }}
),

{{ connected_components('cohort_links', var('fraud_graph_label_passes')) }}

cohort_sizes as (
    select
        component_id,
        count(*) as cohort_size
    from cc_components
    group by component_id
),

final as (
    select
        -- ids
        cc_components.user_id,
        cc_components.component_id as cohort_id,
        -- shape
        cohort_sizes.cohort_size,
        -- flags
        cc_components.is_converged
    from cc_components
    inner join cohort_sizes
        on cc_components.component_id = cohort_sizes.component_id
)

select * from final
