{#
    anti_fraud_ramp(value, low, high): a fraud signal scaled to [0, 1].
    0 at or below `low` (normal behaviour), 1 at or above `high` (clearly abnormal), linear in
    between. NULL counts as 0 (no evidence). Rounded to 6 decimals, so a ratio that lands a float
    epsilon above `low` (0.8000000000000001 for a threshold of 0.8) counts as 0, not as a
    signal too small to move the score but large enough to name a fraud type. `low` and `high` come from `anti_fraud_*` vars.
    Renders on one line.

    Example: {{ anti_fraud_ramp('distinct_countries', var('anti_fraud_countries_low'),
    var('anti_fraud_countries_high')) }}
#}
{% macro anti_fraud_ramp(value, low, high) -%}
    round(least(greatest((coalesce({{ value }}, 0) - {{ low }}) * 1.0 / ({{ high }} - {{ low }}), 0), 1), 6)
{%- endmacro %}
