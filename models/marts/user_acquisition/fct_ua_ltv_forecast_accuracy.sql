-- One row per acquisition_channel (and 'all') x forecast basis (d7, d30): the d90 forecast's
-- error on the held-out mature cohorts of fct_ua_ltv_forecast (signup date x channel rows),
-- whose d90 is observed but which the multipliers never saw.
-- wape = sum |forecast - observed| / sum |observed|; bias = (sum forecast - sum observed) /
-- sum |observed| (positive = the forecast is too high).
with

fct_ua_ltv_forecast as (
    select * from {{ ref('fct_ua_ltv_forecast') }}
),

holdout as (
    select
        acquisition_channel,
        'd7' as forecast_basis,
        cast(margin_usd_d90 as {{ type_float64() }}) as observed_usd,
        forecast_d90_from_d7_usd as forecast_usd
    from fct_ua_ltv_forecast
    where is_holdout and forecast_d90_from_d7_usd is not null
    union all
    select
        acquisition_channel,
        'd30' as forecast_basis,
        cast(margin_usd_d90 as {{ type_float64() }}) as observed_usd,
        forecast_d90_from_d30_usd as forecast_usd
    from fct_ua_ltv_forecast
    where is_holdout and forecast_d90_from_d30_usd is not null
),

rolled as (
    select
        acquisition_channel,
        forecast_basis,
        observed_usd,
        forecast_usd
    from holdout
    union all
    select
        'all' as acquisition_channel,
        forecast_basis,
        observed_usd,
        forecast_usd
    from holdout
),

aggregated as (
    select
        acquisition_channel,
        forecast_basis,
        count(*) as holdout_cohorts,
        sum(observed_usd) as observed_d90_usd,
        sum(forecast_usd) as forecast_d90_usd,
        sum(abs(forecast_usd - observed_usd)) as absolute_error_usd,
        sum(abs(observed_usd)) as observed_abs_usd
    from rolled
    group by acquisition_channel, forecast_basis
),

final as (
    select
        -- keys
        acquisition_channel,
        forecast_basis,

        -- held-out cohorts
        cast(holdout_cohorts as {{ dbt.type_bigint() }}) as holdout_cohorts,
        observed_d90_usd,
        forecast_d90_usd,

        -- error
        case when observed_abs_usd > 0 then absolute_error_usd / observed_abs_usd end as wape,
        case when observed_abs_usd > 0 then (forecast_d90_usd - observed_d90_usd) / observed_abs_usd end as bias
    from aggregated
)

select * from final
