-- One row per payout or reward change of an offer task: a task version (snapshot history,
-- int_offer_task_versions) whose payout_cents or reward_coins differ from the version before
-- it. Around the change (changed_date = the new version's valid_from date) it compares the
-- task's completions, conversion and recognised margin per day in a window of
-- var('price_change_window_days') days before ([changed_date - N, changed_date)) and after
-- ([changed_date, changed_date + N), cut at the as-of date: days_after counts the days
-- observed; per-day figures divide by it). conversion = the task's completions / the
-- completions of its offer's first task (task_position 1) in the same window: how many of the
-- users who start the offer reach this step.
-- Caveat: history before the warehouse's first snapshot is not known (one version per task on
-- a first build), so only changes captured since then appear.
{%- set window_days = var('price_change_window_days') %}
with

int_offer_task_versions as (
    select * from {{ ref('int_offer_task_versions') }}
),

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

versions as (
    select
        offer_task_version_id,
        offer_task_id,
        offer_id,
        task_position,
        version_number,
        valid_from,
        reward_coins,
        reward_usd,
        payout_cents,
        payout_usd,
        lag(reward_coins) over (partition by offer_task_id order by version_number) as previous_reward_coins,
        lag(reward_usd) over (partition by offer_task_id order by version_number) as previous_reward_usd,
        lag(payout_cents) over (partition by offer_task_id order by version_number) as previous_payout_cents,
        lag(payout_usd) over (partition by offer_task_id order by version_number) as previous_payout_usd
    from int_offer_task_versions
),

changes as (
    select
        versions.*,
        cast(versions.valid_from as date) as changed_date,
        as_of.as_of_date
    from versions
    cross join int_warehouse_as_of as as_of
    where
        versions.version_number > 1
        and (
            versions.reward_coins <> versions.previous_reward_coins
            or versions.payout_cents <> versions.previous_payout_cents
        )
),

-- each change's completions of the task and of its offer's first task, by side of the change
windowed as (
    select
        changes.offer_task_version_id,
        case when completions.completed_date < changes.changed_date then 'before' else 'after' end as side,
        completions.offer_task_id = changes.offer_task_id as is_this_task,
        completions.task_position = 1 as is_first_task,
        completions.status,
        completions.margin_usd
    from changes
    inner join fct_task_completions as completions
        on changes.offer_id = completions.offer_id
    where
        (completions.offer_task_id = changes.offer_task_id or completions.task_position = 1)
        and completions.completed_date >= {{ dbt.dateadd('day', -window_days, 'changes.changed_date') }}
        and completions.completed_date < {{ dbt.dateadd('day', window_days, 'changes.changed_date') }}
),

sides as (
    select
        offer_task_version_id,
        {% for side in ['before', 'after'] -%}
            count(case when side = '{{ side }}' and is_this_task then 1 end) as completions_{{ side }},
            count(case when side = '{{ side }}' and is_this_task and status = 'credited' then 1 end)
                as credited_completions_{{ side }},
            count(case when side = '{{ side }}' and is_first_task then 1 end) as first_task_completions_{{ side }},
            sum(case when side = '{{ side }}' and is_this_task then margin_usd else 0 end) as margin_usd_{{ side }},
        {% endfor -%}
        count(*) as window_rows
    from windowed
    group by offer_task_version_id
),

observed as (
    select
        changes.*,
        {{ window_days }} as days_before,
        least({{ window_days }}, {{ days_between('changes.changed_date', 'changes.as_of_date') }}) as days_after
    from changes
),

final as (
    select
        -- ids
        observed.offer_task_version_id,
        observed.offer_task_id,
        observed.offer_id,
        cast(observed.task_position as {{ dbt.type_bigint() }}) as task_position,
        observed.version_number,

        -- the change
        observed.changed_date,
        observed.previous_payout_cents,
        observed.payout_cents,
        observed.previous_reward_coins,
        observed.reward_coins,
        cast(observed.previous_payout_usd - observed.previous_reward_usd as numeric) as previous_unit_margin_usd,
        cast(observed.payout_usd - observed.reward_usd as numeric) as unit_margin_usd,
        observed.payout_cents <> observed.previous_payout_cents as is_payout_change,
        observed.reward_coins <> observed.previous_reward_coins as is_reward_change,

        -- window
        cast(observed.days_before as {{ dbt.type_bigint() }}) as days_before,
        cast(greatest(observed.days_after, 0) as {{ dbt.type_bigint() }}) as days_after,

        -- per side
        {% for side in ['before', 'after'] -%}
            cast(coalesce(sides.completions_{{ side }}, 0) as {{ dbt.type_bigint() }}) as completions_{{ side }},
            case
                when observed.days_{{ side }} > 0
                    then cast(coalesce(sides.completions_{{ side }}, 0) as {{ type_float64() }}) / observed.days_{{ side }}
            end as completions_per_day_{{ side }},
            case
                when sides.first_task_completions_{{ side }} > 0
                    then cast(sides.completions_{{ side }} as {{ type_float64() }}) / sides.first_task_completions_{{ side }}
            end as conversion_{{ side }},
            cast(coalesce(sides.margin_usd_{{ side }}, 0) as numeric) as margin_usd_{{ side }},
            case
                when observed.days_{{ side }} > 0
                    then cast(coalesce(sides.margin_usd_{{ side }}, 0) as {{ type_float64() }}) / observed.days_{{ side }}
            end as margin_usd_per_day_{{ side }}{{ ',' if not loop.last }}
        {% endfor %}
    from observed
    left join sides
        on observed.offer_task_version_id = sides.offer_task_version_id
)

select * from final
