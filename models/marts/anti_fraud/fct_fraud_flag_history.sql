{#
    State across builds (issue 11): one row per user ever in the review queue (risk tier high),
    with the as-of date of the first build that flagged them. Incremental and never fully
    refreshed (full_refresh=false): `dbt build --full-refresh` keeps it, so the queue's
    first_flagged_date / is_new_since_last_build survive a full refresh; dropping the table is
    the only reset (docs/marts.md). Each run inserts the high-tier users not in it yet; a user
    who leaves the high tier keeps the row (first flagged stays first flagged). The post-hook
    deletes users no longer in dim_users (a GDPR-erased user's id is renamed in staging), so no
    erased id survives here. Dates are the data's as-of (int_warehouse_as_of), not the wall
    clock, so a rebuild of the same data gives the same table.
#}
{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        on_schema_change='append_new_columns',
        full_refresh=false,
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'user_id',"
            ~ " 'user_id not in (select user_id from ' ~ ref('dim_users') ~ ')') }}{% endif %}"
        ],
    )
}}

-- depends_on: {{ ref('dim_users') }}
with

fct_user_fraud_signals as (
    select * from {{ ref('fct_user_fraud_signals') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

flagged as (
    select
        signals.user_id,
        as_of.as_of_date as first_flagged_date,
        signals.risk_score as first_flagged_risk_score,
        signals.suspected_fraud_type as first_flagged_fraud_type
    from fct_user_fraud_signals as signals
    cross join int_warehouse_as_of as as_of
    where signals.risk_tier = 'high'
),

final as (
    select
        flagged.user_id,
        flagged.first_flagged_date,
        cast(flagged.first_flagged_risk_score as {{ type_float64() }}) as first_flagged_risk_score,
        flagged.first_flagged_fraud_type
    from flagged
    {% if is_incremental_run() %}
        where flagged.user_id not in (select history.user_id from {{ this }} as history)
    {% endif %}
)

select * from final
