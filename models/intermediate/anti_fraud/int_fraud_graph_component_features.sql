-- One row per user with at least one completion: the shape of the account-graph component the
-- user belongs to (int_fraud_graph_components), as per-user features. A user with no link is a
-- component of one. Shape: size, links of each kind inside it, growth speed (members per day
-- of the members' signup span), how alike the members act (share of a member's tasks another
-- member also did, averaged) and how long members stay active after their first reward; and the
-- user's own part in it: links of each kind and the share of its tasks another member also did;
-- and the size of its signup cohort (int_fraud_signup_cohorts: linked accounts made in one burst).
{{ config(materialized='table') }}

with

int_fraud_graph_components as (
    select * from {{ ref('int_fraud_graph_components') }}
),

int_user_links as (
    select * from {{ ref('int_user_links') }}
),

int_user_behaviour_features as (
    select * from {{ ref('int_user_behaviour_features') }}
),

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

int_fraud_signup_cohorts as (
    select * from {{ ref('int_fraud_signup_cohorts') }}
),

-- every active user in a component: its linked component, or one of its own
membership as (
    select
        features.user_id,
        coalesce(components.component_id, features.user_id) as component_id
    from int_user_behaviour_features as features
    left join int_fraud_graph_components as components
        on features.user_id = components.user_id
),

degree as (
    select
        user_id,
        count(distinct neighbour_id) as graph_degree
    from (
        select
            user_a_id as user_id,
            user_b_id as neighbour_id
        from int_user_links
        union all
        select
            user_b_id as user_id,
            user_a_id as neighbour_id
        from int_user_links
    ) as both_directions
    group by user_id
),

-- the user's own links of each kind (a legitimate user on a shared network of a ring is in the
-- ring's component, with its shape, but has few links of its own)
user_links as (
    select
        user_id,
        count(distinct case when link_type = 'referral' then neighbour_id end) as referral_links,
        count(distinct case when link_type = 'shared_device' then neighbour_id end) as device_links,
        count(distinct case when link_type = 'shared_network' then neighbour_id end) as network_links,
        count(distinct case when link_type = 'coactivity' then neighbour_id end) as coactivity_links
    from (
        select
            user_a_id as user_id,
            user_b_id as neighbour_id,
            link_type
        from int_user_links
        union all
        select
            user_b_id as user_id,
            user_a_id as neighbour_id,
            link_type
        from int_user_links
    ) as typed_links
    group by user_id
),

component_links as (
    select
        components.component_id,
        count(case when links.link_type = 'referral' then 1 end) as referral_links,
        count(case when links.link_type = 'shared_device' then 1 end) as device_links,
        count(case when links.link_type = 'shared_network' then 1 end) as network_links,
        count(case when links.link_type = 'coactivity' then 1 end) as coactivity_links
    from int_user_links as links
    inner join int_fraud_graph_components as components
        on links.user_a_id = components.user_id
    group by components.component_id
),

member_tasks as (
    select distinct
        membership.component_id,
        membership.user_id,
        completions.offer_task_id
    from membership
    inner join int_task_completions_versioned as completions
        on membership.user_id = completions.user_id
),

task_members as (
    select
        component_id,
        offer_task_id,
        count(*) as members_on_task
    from member_tasks
    group by component_id, offer_task_id
),

member_overlap as (
    select
        member_tasks.component_id,
        member_tasks.user_id,
        avg(case when task_members.members_on_task >= 2 then 1.0 else 0.0 end) as shared_task_share
    from member_tasks
    inner join task_members
        on
        member_tasks.component_id = task_members.component_id
        and member_tasks.offer_task_id = task_members.offer_task_id
    group by member_tasks.component_id, member_tasks.user_id
),

component_shape as (
    select
        membership.component_id,
        count(*) as component_size,
        (
            {{ epoch_seconds('max(stg_offerwall__users.signed_up_at)') }}
            - {{ epoch_seconds('min(stg_offerwall__users.signed_up_at)') }}
        ) / 86400.0
            as signup_span_days,
        avg(coalesce(member_overlap.shared_task_share, 0)) as task_overlap,
        avg(features.days_active_after_first_reward) as avg_days_active_after_first_reward
    from membership
    inner join int_user_behaviour_features as features
        on membership.user_id = features.user_id
    left join stg_offerwall__users
        on membership.user_id = stg_offerwall__users.user_id
    left join member_overlap
        on membership.user_id = member_overlap.user_id
    group by membership.component_id
),

final as (
    select
        -- ids
        membership.user_id,
        membership.component_id,
        -- graph features
        coalesce(degree.graph_degree, 0) as graph_degree,
        component_shape.component_size,
        coalesce(component_links.referral_links, 0) as component_referral_links,
        coalesce(component_links.device_links, 0) as component_device_links,
        coalesce(component_links.network_links, 0) as component_network_links,
        coalesce(component_links.coactivity_links, 0) as component_coactivity_links,
        component_shape.component_size / (coalesce(component_shape.signup_span_days, 0) + 1.0)
            as component_members_per_signup_day,
        case when component_shape.component_size > 1 then component_shape.task_overlap else 0 end
            as component_task_overlap,
        component_shape.avg_days_active_after_first_reward as component_days_active_after_first_reward,
        -- coordination: accounts linked to the user and made in the same burst (1 = none)
        coalesce(cohorts.cohort_size, 1) as signup_cohort_size,
        -- the user's own part in it
        coalesce(user_links.referral_links, 0) as user_referral_links,
        coalesce(user_links.device_links, 0) as user_device_links,
        coalesce(user_links.network_links, 0) as user_network_links,
        coalesce(user_links.coactivity_links, 0) as user_coactivity_links,
        case
            when component_shape.component_size > 1 then coalesce(member_overlap.shared_task_share, 0) else 0
        end as user_task_overlap
    from membership
    inner join component_shape
        on membership.component_id = component_shape.component_id
    left join component_links
        on membership.component_id = component_links.component_id
    left join degree
        on membership.user_id = degree.user_id
    left join user_links
        on membership.user_id = user_links.user_id
    left join member_overlap
        on membership.user_id = member_overlap.user_id
    left join int_fraud_signup_cohorts as cohorts
        on membership.user_id = cohorts.user_id
)

select * from final
