-- The anti-fraud team's work list: every high-risk user, ranked by the money still stoppable
-- (pending rewards, not paid yet), then risk score, largest first. review_rank is the order to
-- work in (a table has no order). Issue 11 adds what a reviewer needs beside the score:
--   - top_signals: up to 3 signals that drove the score, strongest weighted contribution first,
--     each "<value column>=<value> (low <x>, high <y>)": the list is the macro fraud_signals(),
--     the one fct_user_fraud_signals scores with; top_signal_* = the strongest one;
--   - linked accounts: the other users seen on one of the user's device or IP hashes;
--   - pending_reward_usd (stoppable) vs paid_reward_usd (credited: already paid out);
--   - first_flagged_date / is_new_since_last_build from fct_fraud_flag_history (state kept
--     across builds, never fully refreshed);
--   - review_status: the latest decision recorded in the review app (fct_fraud_review_status,
--     from ops.fraud_review_decisions), 'unreviewed' when there is none;
--   - the learned model beside the rules (issue 18, fct_user_fraud_model_scores): its score,
--     tier, version and top contributing features; NULL (tier 'not_scored') until
--     `offerwall fraud-train` has run.
{%- set signals = fraud_signals() %}
with

fct_user_fraud_signals as (
    select * from {{ ref('fct_user_fraud_signals') }}
),

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

fct_fraud_flag_history as (
    select * from {{ ref('fct_fraud_flag_history') }}
),

fct_fraud_review_status as (
    select * from {{ ref('fct_fraud_review_status') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

fct_user_fraud_model_scores as (
    select * from {{ ref('fct_user_fraud_model_scores') }}
),

flagged as (
    select * from fct_user_fraud_signals
    where risk_tier = 'high'
),

-- one row per flagged user x signal with a contribution (weight x scaled signal)
signal_contributions as (
    {% for signal in signals -%}
        select
            user_id,
            '{{ signal.value }}' as signal_name,
            cast({{ signal.value }} as {{ type_float64() }}) as signal_value,
            cast({{ signal.low }} as {{ type_float64() }}) as threshold_low,
            cast({{ signal.high }} as {{ type_float64() }}) as threshold_high,
            {{ var(signal.weight) }} * {{ signal.name }}_signal as contribution,
            {{ loop.index }} as signal_order
        from flagged
        where {{ signal.name }}_signal > 0
        {{ 'union all' if not loop.last }}
    {% endfor %}
),

ranked_signals as (
    select
        *,
        row_number() over (
            partition by user_id order by contribution desc, signal_order asc
        ) as signal_rank,
        signal_name || '=' || cast(round(signal_value, 3) as {{ dbt.type_string() }})
        || ' (low ' || cast(threshold_low as {{ dbt.type_string() }})
        || ', high ' || cast(threshold_high as {{ dbt.type_string() }}) || ')' as signal_text
    from signal_contributions
),

top_signals as (
    select
        user_id,
        {{ dbt.listagg('signal_text', "'; '", 'order by signal_rank') }} as top_signals,
        max(case when signal_rank = 1 then signal_name end) as top_signal_name,
        max(case when signal_rank = 1 then signal_value end) as top_signal_value,
        max(case when signal_rank = 1 then threshold_low end) as top_signal_threshold_low,
        max(case when signal_rank = 1 then threshold_high end) as top_signal_threshold_high
    from ranked_signals
    where signal_rank <= 3
    group by user_id
),

-- accounts linked through a shared device or IP hash
user_hashes as (
    select distinct
        user_id,
        'device' as hash_kind,
        device_hash as hash_value
    from fct_task_completions
    where device_hash is not null
    union distinct
    select distinct
        user_id,
        'ip' as hash_kind,
        ip_hash as hash_value
    from fct_task_completions
    where ip_hash is not null
),

linked_pairs as (
    select distinct
        mine.user_id,
        theirs.user_id as linked_user_id
    from user_hashes as mine
    inner join user_hashes as theirs
        on mine.hash_kind = theirs.hash_kind
        and mine.hash_value = theirs.hash_value
        and mine.user_id <> theirs.user_id
    where mine.user_id in (select flagged.user_id from flagged)
),

ranked_links as (
    select
        user_id,
        linked_user_id,
        row_number() over (partition by user_id order by linked_user_id) as link_rank
    from linked_pairs
),

links as (
    select
        user_id,
        count(*) as linked_accounts,
        {{ dbt.listagg(
            "case when link_rank <= " ~ var('linked_account_ids_max') ~ " then linked_user_id end",
            "','",
            'order by linked_user_id'
        ) }} as linked_user_ids
    from ranked_links
    group by user_id
),

money as (
    select
        user_id,
        sum(case when status = 'pending' then reward_usd else 0 end) as pending_reward_usd,
        sum(case when status = 'credited' then reward_usd else 0 end) as paid_reward_usd
    from fct_task_completions
    where user_id in (select flagged.user_id from flagged)
    group by user_id
),

queue as (
    select
        flagged.*,
        coalesce(money.pending_reward_usd, 0) as pending_reward_usd,
        coalesce(money.paid_reward_usd, 0) as paid_reward_usd,
        coalesce(links.linked_accounts, 0) as linked_accounts,
        links.linked_user_ids,
        top_signals.top_signals,
        top_signals.top_signal_name,
        top_signals.top_signal_value,
        top_signals.top_signal_threshold_low,
        top_signals.top_signal_threshold_high,
        history.first_flagged_date,
        review.review_status,
        model_scores.model_score,
        model_scores.model_risk_tier,
        model_scores.model_version,
        model_scores.model_top_features,
        as_of.as_of_date,
        {{ days_between('cast(flagged.last_completed_at as date)', 'as_of.as_of_date') }} as days_since_last_activity
    from flagged
    cross join int_warehouse_as_of as as_of
    left join money
        on flagged.user_id = money.user_id
    left join links
        on flagged.user_id = links.user_id
    left join top_signals
        on flagged.user_id = top_signals.user_id
    left join fct_fraud_flag_history as history
        on flagged.user_id = history.user_id
    left join fct_fraud_review_status as review
        on flagged.user_id = review.user_id
    left join fct_user_fraud_model_scores as model_scores
        on flagged.user_id = model_scores.user_id
),

final as (
    select
        row_number() over (order by pending_reward_usd desc, risk_score desc, user_id asc) as review_rank,
        user_id,
        signup_date,
        acquisition_channel,
        risk_score,
        risk_tier,
        suspected_fraud_type,
        money_at_risk_usd,
        nominal_payout_usd,
        completions,
        device_sharing_users,
        network_sharing_users,
        completions_per_active_day,
        fast_completion_share,
        chargeback_rate,
        distinct_countries,
        top_offer_payout_share,
        last_completed_at,

        -- triage (issue 11)
        cast(pending_reward_usd as numeric) as pending_reward_usd,
        cast(paid_reward_usd as numeric) as paid_reward_usd,
        matured_chargeback_rate,
        rejection_rate,
        top_signals,
        top_signal_name,
        top_signal_value,
        top_signal_threshold_low,
        top_signal_threshold_high,
        cast(linked_accounts as {{ dbt.type_bigint() }}) as linked_accounts,
        linked_user_ids,
        first_flagged_date,
        coalesce(first_flagged_date >= as_of_date, false) as is_new_since_last_build,
        cast(days_since_last_activity as {{ dbt.type_bigint() }}) as days_since_last_activity,
        cast(coalesce(review_status, 'unreviewed') as {{ dbt.type_string() }}) as review_status,

        -- the learned model (issue 18)
        cast(model_score as {{ type_float64() }}) as model_score,
        cast(coalesce(model_risk_tier, 'not_scored') as {{ dbt.type_string() }}) as model_risk_tier,
        cast(model_version as {{ dbt.type_string() }}) as model_version,
        cast(model_top_features as {{ dbt.type_string() }}) as model_top_features
    from queue
)

select * from final
