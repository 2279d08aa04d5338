-- The benchmark's lower bound: fct_task_completions, fct_offer_daily_performance and fct_user_ltv
-- computed straight from `raw` in one hand-written DuckDB script, no dbt, no views, no tests.
-- It gives the dbt build's answers (`offerwall bench` checks the totals) with the fewest passes
-- over raw.user_offers that the same rules allow. See docs/benchmark.md.
--
-- Templated only for the project's vars: `offerwall bench` replaces each var('name') call with
-- the value in dbt_project.yml (business constants are never literals), then runs the script
-- against the benchmark's own DuckDB file. Output: schema `lower_bound`.
--
-- The rules are those of the staging and core models (models/staging/offerwall/base/*, macro
-- disposition_ctes, int_task_completions_versioned, the snapshots), written for speed:
--   * a raw row's own defects ("own rules") are one boolean per row;
--   * the staged version of an entity is the first row of its latest version (latest
--     updated_at, then _loaded_at; NULLs last), a clean copy first; it is staged only if it is
--     clean, no other clean copy of that same version differs in content (conflicting
--     duplicate) and, for a task, its offer is staged. A row failing time sanity as its first
--     rule (dated in the future; a completion updated before completed) sorts after every
--     other row: it never counts as the latest version. Only that row is ever checked further,
--     so every entity costs one sort-free window pass, not four;
--   * a completion is never dropped for its parent (docs/guarantees.md, guarantee 12): only a
--     task that belongs to another offer quarantines it. Without a staged task or offer it is
--     is_parent_inferred, its task position and type from the task's latest raw row;
--   * content equality uses DuckDB's hash() of the cleaned columns instead of an md5 of their
--     text;
--   * the task version valid at a completion: on a build from scratch the offer-task snapshot
--     holds one version per staged task (dbt_valid_from = updated_at), valid from
--     least(created_at, updated_at); a completion before that is valued by it all the same
--     (is_before_task_created). History captured by earlier snapshots is not in raw, so
--     after edits in place the lower bound knows only the current version (the benchmark then
--     leaves the history-dependent columns out of its check).
--   * GDPR erasure: the benchmark has no erasure request (ops.gdpr_erasure_requests is empty),
--     so user ids are only trimmed.

set preserve_insertion_order = false;

create schema if not exists lower_bound;

-- Offers: staged = latest version clean and not conflicting. Only what the facts need.
create or replace temp table lb_offers as
with cleaned as (
    select
        id as offer_id,
        trim(name) as offer_name,
        trim(advertiser) as advertiser,
        nullif(lower(trim(provider, chr(32) || chr(9) || chr(13) || chr(10))), '') as provider,
        nullif(lower(trim(category, chr(32) || chr(9) || chr(13) || chr(10))), '') as category,
        nullif(lower(trim(status, chr(32) || chr(9) || chr(13) || chr(10))), '') as status,
        created_at,
        updated_at,
        _loaded_at as loaded_at,
        coalesce(
            id is null or created_at is null or updated_at is null
            or coalesce(nullif(lower(trim(status, chr(32) || chr(9) || chr(13) || chr(10))), ''), '') not in ('active', 'paused', 'ended')
            or not (
                (platforms is null or case when json_valid(platforms) then json_type(platforms) = 'ARRAY' else false end)
                and (countries is null or case when json_valid(countries) then json_type(countries) = 'ARRAY' else false end)
            ),
            false
        ) as earlier_bad,
        coalesce(created_at > _loaded_at + interval ({{ var('future_tolerance_hours', 1) }}) hour or updated_at > _loaded_at + interval ({{ var('future_tolerance_hours', 1) }}) hour, false) as future_bad,
        hash(
            trim(name), trim(advertiser), nullif(lower(trim(provider, chr(32) || chr(9) || chr(13) || chr(10))), ''), nullif(lower(trim(category, chr(32) || chr(9) || chr(13) || chr(10))), ''),
            nullif(lower(trim(status, chr(32) || chr(9) || chr(13) || chr(10))), ''), platforms, countries, created_at
        ) as fp
    from raw.offers
),

flagged as (
    -- time sanity: a row dated in the future is quarantined and never counts as the latest version
    select
        *,
        earlier_bad or future_bad as own_bad,
        not earlier_bad and future_bad as is_unordered
    from cleaned
),

latest as (
    select
        *,
        min(fp) filter (where not own_bad) over version_peers as min_clean_fp,
        max(fp) filter (where not own_bad) over version_peers as max_clean_fp,
        first_value(offer_name) over raw_order as raw_offer_name,
        first_value(advertiser) over raw_order as raw_advertiser,
        first_value(provider) over raw_order as raw_provider,
        first_value(category) over raw_order as raw_category
    from flagged
    window
        version_peers as (
            partition by offer_id order by updated_at desc, loaded_at desc
            range between current row and current row
        ),
        raw_order as (
            partition by offer_id order by updated_at desc, loaded_at desc, fp
            rows between unbounded preceding and unbounded following
        )
    qualify row_number() over (
        partition by offer_id order by is_unordered, updated_at desc, loaded_at desc, own_bad, fp
    ) = 1
)

-- descriptive: the staged version's, else (an inferred offer) the latest raw row's
select
    offer_id,
    case when not own_bad and min_clean_fp = max_clean_fp then offer_name else raw_offer_name end as offer_name,
    case when not own_bad and min_clean_fp = max_clean_fp then advertiser else raw_advertiser end as advertiser,
    case when not own_bad and min_clean_fp = max_clean_fp then provider else raw_provider end as provider,
    case when not own_bad and min_clean_fp = max_clean_fp then category else raw_category end as category,
    not own_bad and min_clean_fp = max_clean_fp as is_staged
from latest
where offer_id is not null;

-- Offer tasks: own rules (time sanity: a row dated in the future never counts as the latest
-- version), conflicts, then the parent offer staged. raw_task_type/raw_task_position: the
-- task's latest raw row whatever its defect (what an inferred task's completions carry).
create or replace temp table lb_offer_tasks as
with cleaned as (
    select
        tasks.id as offer_task_id,
        tasks.offer_id,
        tasks.position as task_position,
        nullif(lower(trim(tasks.task_type, chr(32) || chr(9) || chr(13) || chr(10))), '') as task_type,
        tasks.reward_coins,
        tasks.payout_cents,
        tasks.created_at,
        tasks.updated_at,
        tasks._loaded_at as loaded_at,
        coalesce(offers.is_staged, false) as is_offer_staged,
        coalesce(
            tasks.id is null or tasks.offer_id is null or tasks.created_at is null or tasks.updated_at is null
            or coalesce(nullif(lower(trim(tasks.status, chr(32) || chr(9) || chr(13) || chr(10))), ''), '')
            not in ('active', 'disabled'),
            false
        ) as before_type_bad,
        coalesce(
            coalesce(nullif(lower(trim(tasks.task_type, chr(32) || chr(9) || chr(13) || chr(10))), ''), '')
            not in ('install', 'signup', 'level', 'purchase', 'deposit', 'survey', 'other'),
            false
        ) as type_bad,
        coalesce(
            tasks.reward_coins is null or tasks.payout_cents is null
            or tasks.reward_coins < 0 or tasks.payout_cents < 0
            or tasks.reward_coins > {{ var('max_amount_usd') }} * {{ var('coins_per_usd') }}
            or tasks.payout_cents > {{ var('max_amount_usd') }} * 100,
            false
        ) as amount_bad,
        coalesce(
            tasks.created_at > tasks._loaded_at + interval ({{ var('future_tolerance_hours', 1) }}) hour
            or tasks.updated_at > tasks._loaded_at + interval ({{ var('future_tolerance_hours', 1) }}) hour,
            false
        ) as future_bad,
        offers.offer_id is null as fk_bad,
        hash(
            tasks.offer_id, tasks.position, trim(tasks.title),
            nullif(lower(trim(tasks.task_type, chr(32) || chr(9) || chr(13) || chr(10))), ''),
            nullif(lower(trim(tasks.status, chr(32) || chr(9) || chr(13) || chr(10))), ''),
            tasks.reward_coins, tasks.payout_cents, tasks.created_at
        ) as fp
    from raw.offer_tasks as tasks
    left join lb_offers as offers
        on tasks.offer_id = offers.offer_id
),

flagged as (
    select
        *,
        before_type_bad or type_bad or amount_bad or future_bad or fk_bad as own_bad,
        not (before_type_bad or type_bad or amount_bad) and future_bad as is_unordered,
        case when not before_type_bad and type_bad then null else task_type end as raw_type
    from cleaned
),

latest as (
    select
        *,
        min(fp) filter (where not own_bad) over version_peers as min_clean_fp,
        max(fp) filter (where not own_bad) over version_peers as max_clean_fp,
        first_value(raw_type) over raw_order as raw_task_type,
        first_value(task_position) over raw_order as raw_task_position
    from flagged
    window
        version_peers as (
            partition by offer_task_id order by updated_at desc, loaded_at desc
            range between current row and current row
        ),
        raw_order as (
            partition by offer_task_id order by updated_at desc, loaded_at desc, fp
            rows between unbounded preceding and unbounded following
        )
    qualify row_number() over (
        partition by offer_task_id order by is_unordered, updated_at desc, loaded_at desc, own_bad, fp
    ) = 1
)

select
    offer_task_id,
    offer_id,
    task_position,
    task_type,
    raw_task_position,
    raw_task_type,
    reward_coins,
    payout_cents,
    created_at,
    updated_at,
    not own_bad and min_clean_fp = max_clean_fp and is_offer_staged as is_staged
from latest
where offer_task_id is not null;

-- Users: entity = trimmed id, versions by _loaded_at. An unknown referrer does not quarantine
-- the user (the model keeps it with referrer NULL; no fact column depends on the referrer).
create or replace temp table lb_users as
with cleaned as (
    select
        trim(id) as user_id,
        nullif(trim(referrer_user_id), '') as referrer_user_id,
        nullif(upper(trim(country, chr(32) || chr(9) || chr(13) || chr(10))), '') as country,
        nullif(lower(trim(platform, chr(32) || chr(9) || chr(13) || chr(10))), '') as platform,
        nullif(lower(trim(acquisition_channel, chr(32) || chr(9) || chr(13) || chr(10))), '') as acquisition_channel,
        created_at as signed_up_at,
        _loaded_at as loaded_at
    from raw.users
),

checked as (
    select
        *,
        coalesce(
            user_id is null or user_id = '' or signed_up_at is null
            or signed_up_at > loaded_at,
            false
        ) as own_bad,
        hash(referrer_user_id, country, platform, acquisition_channel, signed_up_at) as fp
    from cleaned
),

latest as (
    select
        *,
        min(fp) filter (where not own_bad) over version_peers as min_clean_fp,
        max(fp) filter (where not own_bad) over version_peers as max_clean_fp
    from checked
    window version_peers as (
        partition by user_id order by loaded_at desc
        range between current row and current row
    )
    qualify row_number() over (partition by user_id order by loaded_at desc, own_bad, fp) = 1
)

select
    user_id,
    country,
    platform,
    acquisition_channel,
    signed_up_at,
    cast(signed_up_at as date) as signup_date,
    not own_bad and min_clean_fp = max_clean_fp as is_staged
from latest
where user_id is not null;

create or replace temp table lb_known_user_ids as
select distinct trim(id) as user_id from raw.users where trim(id) is not null;

-- fct_task_completions: the latest clean version of each completion, its parents staged, joined
-- to its task's version, with recognised amounts (zero unless credited).
create or replace table lower_bound.fct_task_completions as
with checked as (
    -- narrow: only what picks the staged row travels through the window (payload is re-read)
    select
        completions.rowid as raw_rowid,
        completions.id as completion_id,
        completions.updated_at,
        completions._loaded_at as loaded_at,
        coalesce(
            completions.id is null or trim(completions.user_id) is null or completions.offer_id is null
            or completions.offer_task_id is null or completions.completed_at is null
            or completions.updated_at is null
            or coalesce(nullif(lower(trim(completions.status, chr(32) || chr(9) || chr(13) || chr(10))), ''), '')
            not in ('pending', 'credited', 'reversed', 'rejected')
            or completions.reward_coins is null or completions.payout_cents is null
            or completions.reward_coins < 0 or completions.payout_cents < 0
            or completions.reward_coins > {{ var('max_amount_usd') }} * {{ var('coins_per_usd') }}
            or completions.payout_cents > {{ var('max_amount_usd') }} * 100
            or completions.completed_at < completions.started_at
            or completions.completed_at > completions._loaded_at,
            false
        ) as earlier_bad,
        -- time sanity: quarantined and never the latest version (updated_in_future,
        -- status_change_before_completion)
        coalesce(
            completions.updated_at > completions._loaded_at + interval ({{ var('future_tolerance_hours', 1) }}) hour
            or completions.updated_at < completions.completed_at,
            false
        ) as time_bad,
        known_users.user_id is null or tasks.offer_task_id is null or offers.offer_id is null as fk_bad,
        -- never dropped for its parent: only a task of another offer (unknown_fk) is a parent defect
        coalesce(not (case when tasks.is_staged then tasks.offer_id end <> completions.offer_id), true)
            as is_parent_ok,
        hash(
            trim(completions.user_id), completions.offer_id, completions.offer_task_id,
            nullif(lower(trim(completions.status, chr(32) || chr(9) || chr(13) || chr(10))), ''), nullif(upper(trim(completions.country, chr(32) || chr(9) || chr(13) || chr(10))), ''),
            nullif(lower(trim(completions.device_platform, chr(32) || chr(9) || chr(13) || chr(10))), ''), completions.ip_hash, completions.device_hash,
            completions.reward_coins, completions.payout_cents, completions.started_at, completions.completed_at
        ) as fp
    from raw.user_offers as completions
    left join lb_offer_tasks as tasks
        on completions.offer_task_id = tasks.offer_task_id
    left join lb_offers as offers
        on completions.offer_id = offers.offer_id
    left join lb_known_user_ids as known_users
        on trim(completions.user_id) = known_users.user_id
),

flagged as (
    select
        *,
        earlier_bad or time_bad or fk_bad as own_bad,
        not earlier_bad and time_bad as is_unordered
    from checked
),

latest as (
    select
        raw_rowid,
        completion_id,
        own_bad,
        is_parent_ok,
        min(fp) filter (where not own_bad) over version_peers as min_clean_fp,
        max(fp) filter (where not own_bad) over version_peers as max_clean_fp
    from flagged
    window version_peers as (
        partition by completion_id order by updated_at desc, loaded_at desc
        range between current row and current row
    )
    qualify row_number() over (
        partition by completion_id order by is_unordered, updated_at desc, loaded_at desc, own_bad, fp
    ) = 1
),

staged_rows as (
    select raw_rowid from latest
    where completion_id is not null and not own_bad and min_clean_fp = max_clean_fp and is_parent_ok
),

staged as (
    select
        completions.id as completion_id,
        trim(completions.user_id) as user_id,
        completions.offer_id,
        completions.offer_task_id,
        nullif(lower(trim(completions.status, chr(32) || chr(9) || chr(13) || chr(10))), '') as status,
        nullif(upper(trim(completions.country, chr(32) || chr(9) || chr(13) || chr(10))), '') as country,
        nullif(lower(trim(completions.device_platform, chr(32) || chr(9) || chr(13) || chr(10))), '') as device_platform,
        completions.ip_hash,
        completions.device_hash,
        completions.reward_coins,
        completions.payout_cents,
        completions.started_at,
        completions.completed_at,
        completions.updated_at,
        completions._loaded_at as loaded_at
    from raw.user_offers as completions
    semi join staged_rows
        on completions.rowid = staged_rows.raw_rowid
),

amounts as (
    select
        staged.*,
        cast(staged.payout_cents / 100 as decimal(18, 3)) as payout_usd,
        cast(staged.reward_coins / {{ var('coins_per_usd') }} as decimal(18, 3)) as reward_usd
    from staged
)

select
    amounts.completion_id,
    amounts.user_id,
    amounts.offer_id,
    amounts.offer_task_id,
    case when task_versions.offer_task_id is not null then md5(
        cast(task_versions.offer_task_id as varchar) || '|' || cast(task_versions.updated_at as varchar)
    ) end as offer_task_version_id,
    amounts.status,
    coalesce(task_versions.task_type, raw_tasks.raw_task_type) as task_type,
    coalesce(task_versions.task_position, raw_tasks.raw_task_position) as task_position,
    amounts.country,
    amounts.device_platform,
    amounts.ip_hash,
    amounts.device_hash,
    amounts.payout_usd,
    amounts.reward_usd,
    cast(case when amounts.status = 'credited' then amounts.payout_usd else 0 end as decimal(18, 3)) as revenue_usd,
    cast(case when amounts.status = 'credited' then amounts.reward_usd else 0 end as decimal(18, 3))
        as reward_cost_usd,
    cast(
        case when amounts.status = 'credited' then amounts.payout_usd - amounts.reward_usd else 0 end
        as decimal(18, 3)
    ) as margin_usd,
    amounts.status = 'reversed' as is_reversed,
    coalesce(
        amounts.reward_coins <> task_versions.reward_coins or amounts.payout_cents <> task_versions.payout_cents,
        false
    ) as has_amount_mismatch,
    task_versions.offer_task_id is null or offers.offer_id is null as is_parent_inferred,
    coalesce(
        amounts.completed_at < least(task_versions.created_at, task_versions.updated_at), false
    ) as is_before_task_created,
    cast(date_diff('second', amounts.started_at, amounts.completed_at) / 60 as decimal(18, 3))
        as minutes_to_complete,
    amounts.started_at,
    amounts.completed_at,
    cast(amounts.completed_at as date) as completed_date,
    amounts.updated_at,
    amounts.loaded_at
from amounts
-- the one version of a staged task (a completion before it is valued by it: is_before_task_created)
left join lb_offer_tasks as task_versions
    on amounts.offer_task_id = task_versions.offer_task_id
    and task_versions.is_staged
-- a task that never had a clean version: position and type of its latest raw row (inferred)
left join lb_offer_tasks as raw_tasks
    on amounts.offer_task_id = raw_tasks.offer_task_id
left join lb_offers as offers
    on amounts.offer_id = offers.offer_id
    and offers.is_staged;

-- fct_offer_daily_performance: one row per offer and completion date.
create or replace table lower_bound.fct_offer_daily_performance as
with aggregated as (
    select
        offer_id,
        completed_date,
        count(*) as completions,
        count(case when status = 'pending' then 1 end) as pending_completions,
        count(case when status = 'credited' then 1 end) as credited_completions,
        count(case when status = 'reversed' then 1 end) as reversed_completions,
        count(case when status = 'rejected' then 1 end) as rejected_completions,
        count(distinct user_id) as users,
        sum(payout_usd) as nominal_payout_usd,
        sum(reward_usd) as nominal_reward_usd,
        sum(revenue_usd) as revenue_usd,
        sum(reward_cost_usd) as reward_cost_usd,
        sum(margin_usd) as margin_usd
    from lower_bound.fct_task_completions
    group by offer_id, completed_date
)

select
    aggregated.offer_id,
    aggregated.completed_date,
    offers.offer_name,
    offers.advertiser,
    offers.provider,
    offers.category,
    aggregated.completions,
    aggregated.pending_completions,
    aggregated.credited_completions,
    aggregated.reversed_completions,
    aggregated.rejected_completions,
    aggregated.users,
    cast(aggregated.nominal_payout_usd as decimal(18, 3)) as nominal_payout_usd,
    cast(aggregated.nominal_reward_usd as decimal(18, 3)) as nominal_reward_usd,
    cast(aggregated.revenue_usd as decimal(18, 3)) as revenue_usd,
    cast(aggregated.reward_cost_usd as decimal(18, 3)) as reward_cost_usd,
    cast(aggregated.margin_usd as decimal(18, 3)) as margin_usd,
    case
        when aggregated.revenue_usd <> 0
            then cast(aggregated.margin_usd as double) / cast(aggregated.revenue_usd as double)
    end as margin_pct,
    case
        when aggregated.credited_completions + aggregated.reversed_completions > 0
            then cast(aggregated.reversed_completions as double)
            / (aggregated.credited_completions + aggregated.reversed_completions)
    end as reversal_rate
from aggregated
left join lb_offers as offers
    on aggregated.offer_id = offers.offer_id;

-- fct_user_ltv: every user (staged users plus users seen only in completions), recognised margin
-- to date and per horizon, a horizon filled once it has elapsed at the as-of date (var as_of, else
-- the data's own watermark: the latest loaded_at of a staged completion). The horizons are the
-- contract's column names (margin_usd_d7, _d30, _d90).
{%- set horizons = [7, 30, 90] %}
create or replace table lower_bound.fct_user_ltv as
with as_of as (
    {%- if var('as_of', none) %}
    select cast(cast('{{ var("as_of") }}' as timestamp) as date) as as_of_date
    {%- else %}
    select cast(max(loaded_at) as date) as as_of_date from lower_bound.fct_task_completions
    {%- endif %}
),

staged_users as (
    select * from lb_users where is_staged
),

user_ids as (
    select user_id from staged_users
    union
    select distinct user_id from lower_bound.fct_task_completions
),

completions_by_user as (
    select
        completions.user_id,
        sum(completions.margin_usd) as margin_usd_to_date,
        sum(completions.revenue_usd) as revenue_usd_to_date,
        sum(completions.reward_cost_usd) as reward_cost_usd_to_date,
        {%- for horizon in horizons %}
        sum(
            case
                when date_diff('day', users.signup_date, completions.completed_date) < {{ horizon }}
                    then completions.margin_usd
                else 0
            end
        ) as margin_usd_within_d{{ horizon }}{{ "," if not loop.last }}
        {%- endfor %}
    from lower_bound.fct_task_completions as completions
    left join staged_users as users
        on completions.user_id = users.user_id
    group by completions.user_id
)

select
    user_ids.user_id,
    users.signup_date,
    users.acquisition_channel,
    users.country,
    users.platform,
    coalesce(
        users.acquisition_channel not in (
            {%- for channel in var('unpaid_acquisition_channels') %}
            '{{ channel }}'{{ "," if not loop.last }}
            {%- endfor %}
        ),
        false
    ) as is_paid_channel,
    as_of.as_of_date,
    cast(date_diff('day', users.signup_date, as_of.as_of_date) as bigint) as days_since_signup,
    cast(coalesce(completions.revenue_usd_to_date, 0) as decimal(18, 3)) as revenue_usd_to_date,
    cast(coalesce(completions.reward_cost_usd_to_date, 0) as decimal(18, 3)) as reward_cost_usd_to_date,
    cast(coalesce(completions.margin_usd_to_date, 0) as decimal(18, 3)) as margin_usd_to_date,
    {%- for horizon in horizons %}
    case
        when date_diff('day', users.signup_date, as_of.as_of_date) >= {{ horizon }}
            then cast(coalesce(completions.margin_usd_within_d{{ horizon }}, 0) as decimal(18, 3))
    end as margin_usd_d{{ horizon }}{{ "," if not loop.last }}
    {%- endfor %}
from user_ids
cross join as_of
left join staged_users as users
    on user_ids.user_id = users.user_id
left join completions_by_user as completions
    on user_ids.user_id = completions.user_id;
