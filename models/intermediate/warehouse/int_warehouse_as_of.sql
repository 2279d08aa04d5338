-- The warehouse's "now", one row. It is the data's own watermark, never the machine clock, so a
-- rebuild of the same raw data gives the same answer: the latest loaded_at of the completions
-- replica (max _loaded_at of raw.user_offers). The var `as_of` overrides it
-- (`--vars '{as_of: "2026-04-01 00:00:00"}'`). Each mart that needs "now" imports this model.
{%- set as_of = var('as_of', none) %}
{%- set as_of_at = "cast('" ~ as_of ~ "' as " ~ dbt.type_timestamp() ~ ")" if as_of else 'max_loaded_at' %}
with

stg_offerwall__user_offers as (
    select * from {{ ref('stg_offerwall__user_offers') }}
),

watermark as (
    select max(loaded_at) as max_loaded_at
    from stg_offerwall__user_offers
),

final as (
    select
        {{ as_of_at }} as as_of_at,
        cast({{ as_of_at }} as date) as as_of_date
    from watermark
)

select * from final
