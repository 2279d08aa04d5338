{#
    Money units. The source stores payouts in US cents and rewards in coins; every model
    downstream of staging speaks USD, as `numeric` (DuckDB decimal(18,3), BigQuery NUMERIC),
    so totals reconcile exactly across marts.

    cents_to_usd('payout_cents')  -> cast(payout_cents / 100 as numeric)
    coins_to_usd('reward_coins')  -> cast(reward_coins / var('coins_per_usd') as numeric)
#}
{% macro cents_to_usd(column) -%}
    cast({{ column }} / 100 as numeric)
{%- endmacro %}

{% macro coins_to_usd(column) -%}
    cast({{ column }} / {{ var('coins_per_usd') }} as numeric)
{%- endmacro %}

{#
    absurd_amount_condition(coins_column, cents_column): TRUE when a reward (coins) or a payout
    (cents) is above var('max_amount_usd'). Compared in the source units, so an absurd value
    never overflows a cast.
#}
{% macro absurd_amount_condition(coins_column, cents_column) -%}
    ({{ coins_column }} > {{ var('max_amount_usd') }} * {{ var('coins_per_usd') }}
        or {{ cents_column }} > {{ var('max_amount_usd') }} * 100)
{%- endmacro %}
