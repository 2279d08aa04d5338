-- One row per user with at least one link in int_user_links: the connected component of the
-- account graph the user belongs to, found by `fraud_graph_label_passes` passes of min-label
-- propagation (macro connected_components: unrolled joins on both engines). A component whose
-- diameter exceeds the passes is split in a few; `is_converged` is false for users whose label
-- still moved in the last pass.
{{ config(materialized='table') }}

with

int_user_links as (
    select * from {{ ref('int_user_links') }}
),

{{ connected_components('int_user_links', var('fraud_graph_label_passes')) }}

final as (
    select
        user_id,
        component_id,
        is_converged
    from cc_components
)

select * from final
