-- One row per offer x placement x display position: how often the offer was shown there,
-- started from there, and how many of those starts completed a task and were credited.
-- Only the v2 source records impressions and starts that never completed (v1 knows an offer
-- start only through a completion).
with

stg_offerwall_v2__user_offer_events as (
    select * from {{ ref('stg_offerwall_v2__user_offer_events') }}
),

impressions as (
    select
        impression_id,
        user_id,
        offer_id,
        placement,
        display_position
    from stg_offerwall_v2__user_offer_events
    where event_type = 'offer_impression'
),

starts as (
    select
        impression_id,
        user_offer_id
    from stg_offerwall_v2__user_offer_events
    where event_type = 'offer_started'
),

user_offer_outcomes as (
    select
        user_offer_id,
        max(case when event_type = 'task_completed' then 1 else 0 end) as has_completion,
        max(case when event_type = 'credited' then 1 else 0 end) as has_credit
    from stg_offerwall_v2__user_offer_events
    where completion_id is not null
        and user_offer_id is not null
    group by 1
),

joined as (
    select
        impressions.*,
        starts.user_offer_id is not null as is_started,
        coalesce(user_offer_outcomes.has_completion, 0) = 1 as is_completed,
        coalesce(user_offer_outcomes.has_credit, 0) = 1 as is_credited
    from impressions
    left join starts
        on impressions.impression_id = starts.impression_id
    left join user_offer_outcomes
        on starts.user_offer_id = user_offer_outcomes.user_offer_id
),

aggregated as (
    select
        offer_id,
        placement,
        display_position,
        count(*) as impressions,
        count(distinct user_id) as users_shown,
        sum(case when is_started then 1 else 0 end) as offer_starts,
        sum(case when is_completed then 1 else 0 end) as completed_starts,
        sum(case when is_credited then 1 else 0 end) as credited_starts
    from joined
    group by 1, 2, 3
),

final as (
    select
        -- ids
        {{ text_row_hash(['offer_id', 'placement', 'display_position']) }} as funnel_key,
        offer_id,

        -- dimensions
        placement,
        display_position,

        -- counts
        impressions,
        users_shown,
        offer_starts,
        completed_starts,
        credited_starts,

        -- rates
        cast(offer_starts as {{ type_float64() }}) / impressions as start_rate,
        case
            when offer_starts > 0 then cast(completed_starts as {{ type_float64() }}) / offer_starts
        end as completion_rate,
        cast(completed_starts as {{ type_float64() }}) / impressions as impression_to_completion_rate
    from aggregated
)

select * from final
