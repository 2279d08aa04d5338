-- One row per experiment x variant of the personalised reward display: the reward shown
-- (coins on the offer card, personalised by the variant) against the reward earned
-- (recognised: credited completions of the offers started from those impressions).
with

stg_offerwall_v2__user_offer_events as (
    select * from {{ ref('stg_offerwall_v2__user_offer_events') }}
),

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

impressions as (
    select
        impression_id,
        user_id,
        experiment_id,
        variant_id,
        shown_reward_coins,
        base_reward_coins
    from stg_offerwall_v2__user_offer_events
    where event_type = 'offer_impression'
),

offer_starts as (
    select
        impression_id,
        user_offer_id
    from stg_offerwall_v2__user_offer_events
    where event_type = 'offer_started'
),

completion_user_offers as (
    select distinct
        completion_id,
        user_offer_id
    from stg_offerwall_v2__user_offer_events
    where completion_id is not null
        and user_offer_id is not null
),

earned as (
    select
        completion_user_offers.user_offer_id,
        count(*) as completions,
        sum(completions.reward_cost_usd) as earned_reward_usd
    from completion_user_offers
    inner join fct_task_completions as completions
        on completion_user_offers.completion_id = completions.completion_id
    group by 1
),

joined as (
    select
        impressions.*,
        offer_starts.user_offer_id is not null as is_started,
        coalesce(earned.completions, 0) as completions,
        coalesce(earned.earned_reward_usd, 0) as earned_reward_usd
    from impressions
    left join offer_starts
        on impressions.impression_id = offer_starts.impression_id
    left join earned
        on offer_starts.user_offer_id = earned.user_offer_id
),

aggregated as (
    select
        experiment_id,
        variant_id,
        count(distinct user_id) as users_shown,
        count(*) as impressions,
        sum(case when is_started then 1 else 0 end) as offer_starts,
        sum(case when completions > 0 then 1 else 0 end) as completed_starts,
        avg(shown_reward_coins) as avg_shown_reward_coins,
        avg(base_reward_coins) as avg_base_reward_coins,
        sum(case when is_started then shown_reward_coins else 0 end) as started_shown_reward_coins,
        cast(
            round(sum(earned_reward_usd) * {{ var('coins_per_usd') }}) as {{ dbt.type_bigint() }}
        ) as earned_reward_coins,
        sum(earned_reward_usd) as earned_reward_usd
    from joined
    group by 1, 2
),

final as (
    select
        -- ids
        experiment_id,
        variant_id,

        -- counts
        users_shown,
        impressions,
        offer_starts,
        completed_starts,

        -- reward shown
        avg_shown_reward_coins,
        avg_base_reward_coins,
        started_shown_reward_coins,

        -- reward earned (recognised: credited only)
        earned_reward_coins,
        earned_reward_usd,

        -- ratios
        cast(offer_starts as {{ type_float64() }}) / impressions as start_rate,
        case
            when offer_starts > 0 then cast(earned_reward_coins as {{ type_float64() }}) / offer_starts
        end as earned_coins_per_start,
        case
            when started_shown_reward_coins > 0
                then cast(earned_reward_coins as {{ type_float64() }}) / started_shown_reward_coins
        end as earned_to_shown_ratio
    from aggregated
)

select * from final
