-- One row per complete day x series x metric: the day's value against the series' own trailing
-- baseline (the var anomaly_baseline_days days before it), and whether it is an anomaly.
-- Series: each offer, each provider and each acquisition channel (the users' channel).
-- Metrics: completions, margin_usd (recognised) and chargeback_rate (reversed / (credited +
-- reversed) of the day's completions; NULL without any). Days without completions count 0
-- (every date the warehouse has completions for, from the series' first day on).
-- Only complete days: the as-of day itself is still loading and is left out.
-- Anomaly: at least var anomaly_min_baseline_days days of baseline and
-- |value - mean| >= var anomaly_z_threshold x stddev (stddev floored at a share of the mean so
-- a flat series is not flagged for a rounding wiggle). A chargeback rate is only an anomaly
-- upwards: recent days' rates are low because chargebacks come weeks later.
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

dim_offers as (
    select * from {{ ref('dim_offers') }}
),

dim_users as (
    select * from {{ ref('dim_users') }}
),

as_of as (
    select as_of_date
    from {{ ref('int_warehouse_as_of') }}
),

completions as (
    select
        completions.completed_date,
        completions.offer_id,
        coalesce(offers.provider, 'unknown') as provider,
        coalesce(dim_users.acquisition_channel, 'unknown') as acquisition_channel,
        completions.margin_usd,
        case when completions.status = 'credited' then 1 else 0 end as is_credited,
        case when completions.status = 'reversed' then 1 else 0 end as is_reversed
    from fct_task_completions as completions
    cross join as_of
    left join dim_offers as offers
        on completions.offer_id = offers.offer_id
    left join dim_users
        on completions.user_id = dim_users.user_id
    where completions.completed_date < as_of.as_of_date
),

series_days as (
    select
        'offer' as series_type,
        cast(offer_id as {{ dbt.type_string() }}) as series_key,
        completed_date,
        count(*) as completions,
        sum(margin_usd) as margin_usd,
        sum(is_credited) as credited_completions,
        sum(is_reversed) as reversed_completions
    from completions
    group by offer_id, completed_date
    union all
    select
        'provider' as series_type,
        provider as series_key,
        completed_date,
        count(*) as completions,
        sum(margin_usd) as margin_usd,
        sum(is_credited) as credited_completions,
        sum(is_reversed) as reversed_completions
    from completions
    group by provider, completed_date
    union all
    select
        'channel' as series_type,
        acquisition_channel as series_key,
        completed_date,
        count(*) as completions,
        sum(margin_usd) as margin_usd,
        sum(is_credited) as credited_completions,
        sum(is_reversed) as reversed_completions
    from completions
    group by acquisition_channel, completed_date
),

calendar as (
    select distinct completed_date as metric_date
    from completions
),

series as (
    select
        series_type,
        series_key,
        min(completed_date) as first_date
    from series_days
    group by series_type, series_key
),

dense as (
    select
        series.series_type,
        series.series_key,
        calendar.metric_date,
        coalesce(series_days.completions, 0) as completions,
        coalesce(series_days.margin_usd, 0) as margin_usd,
        case
            when coalesce(series_days.credited_completions, 0) + coalesce(series_days.reversed_completions, 0) > 0
                then cast(series_days.reversed_completions as {{ type_float64() }})
                    / (series_days.credited_completions + series_days.reversed_completions)
        end as chargeback_rate
    from series
    inner join calendar
        on series.first_date <= calendar.metric_date
    left join series_days
        on series.series_type = series_days.series_type
        and series.series_key = series_days.series_key
        and calendar.metric_date = series_days.completed_date
),

metrics as (
    select
        series_type,
        series_key,
        metric_date,
        'completions' as metric,
        cast(completions as {{ type_float64() }}) as metric_value
    from dense
    union all
    select
        series_type,
        series_key,
        metric_date,
        'margin_usd' as metric,
        cast(margin_usd as {{ type_float64() }}) as metric_value
    from dense
    union all
    select
        series_type,
        series_key,
        metric_date,
        'chargeback_rate' as metric,
        chargeback_rate as metric_value
    from dense
),

baselines as (
    select
        *,
        avg(metric_value) over baseline_window as baseline_mean,
        stddev_samp(metric_value) over baseline_window as baseline_stddev,
        count(metric_value) over baseline_window as baseline_days
    from metrics
    window baseline_window as (
        partition by series_type, series_key, metric
        order by metric_date
        rows between {{ var('anomaly_baseline_days') }} preceding and 1 preceding
    )
),

scored as (
    select
        *,
        case
            when metric_value is not null and baseline_days >= {{ var('anomaly_min_baseline_days') }}
                then (metric_value - baseline_mean) / greatest(
                        coalesce(baseline_stddev, 0),
                        abs(baseline_mean) * {{ var('anomaly_min_baseline_stddev_share') }},
                        1e-9
                    )
        end as z_score
    from baselines
),

final as (
    select
        -- keys
        scored.metric_date,
        scored.series_type,
        scored.series_key,
        scored.metric,

        -- the day and its baseline
        scored.metric_value,
        scored.baseline_mean,
        scored.baseline_stddev,
        cast(scored.baseline_days as {{ dbt.type_bigint() }}) as baseline_days,
        scored.z_score,
        case
            when scored.z_score > 0 then 'above'
            when scored.z_score < 0 then 'below'
        end as direction,

        -- flags
        coalesce(
            abs(scored.z_score) >= {{ var('anomaly_z_threshold') }}
            and (scored.metric <> 'chargeback_rate' or scored.z_score > 0),
            false
        ) as is_anomaly,
        scored.metric_date = max(scored.metric_date) over () as is_latest_day
    from scored
)

select * from final
