-- One row per user: every user of the users replica, plus any user id that has completions but
-- no (clean) users row, flagged by has_user_record = false so no completion loses its user.
with

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

int_users_first_last_activity as (
    select * from {{ ref('int_users_first_last_activity') }}
),

user_ids as (
    select user_id from stg_offerwall__users
    union distinct
    select user_id from int_users_first_last_activity
),

joined as (
    select
        -- ids
        user_ids.user_id,
        signups.referrer_user_id,

        -- signup
        signups.signed_up_at,
        signups.signup_date,
        signups.acquisition_channel,
        signups.country,
        signups.platform,

        -- flags
        signups.user_id is not null as has_user_record,
        coalesce(signups.has_unknown_referrer, false) as has_unknown_referrer,
        {{ is_paid_channel('signups.acquisition_channel') }} as is_paid_channel,

        -- activity
        activity.first_completed_at,
        activity.last_completed_at,
        cast(coalesce(activity.active_days, 0) as {{ dbt.type_bigint() }}) as active_days,

        -- lifetime counts
        cast(coalesce(activity.completions, 0) as {{ dbt.type_bigint() }}) as lifetime_completions,
        {% for status in var('completion_statuses') -%}
            cast(coalesce(activity.{{ status }}_completions, 0) as {{ dbt.type_bigint() }})
                as lifetime_{{ status }}_completions,
        {% endfor %}

        -- lifetime amounts (recognised)
        cast(coalesce(activity.revenue_usd, 0) as numeric) as lifetime_revenue_usd,
        cast(coalesce(activity.reward_cost_usd, 0) as numeric) as lifetime_reward_cost_usd,
        cast(coalesce(activity.margin_usd, 0) as numeric) as lifetime_margin_usd
    from user_ids
    left join stg_offerwall__users as signups
        on user_ids.user_id = signups.user_id
    left join int_users_first_last_activity as activity
        on user_ids.user_id = activity.user_id
),

final as (
    select * from joined
)

select * from final
