{#
    anti_fraud_ramp(value, low, high): a fraud signal scaled to [0, 1].
    0 at or below `low` (normal behaviour), 1 at or above `high` (clearly abnormal), linear in
    between. NULL counts as 0 (no evidence). `low` and `high` come from `anti_fraud_*` vars.
    Renders on one line.

    Example: {{ anti_fraud_ramp('distinct_countries', var('anti_fraud_countries_low'),
    var('anti_fraud_countries_high')) }}
#}
{% macro anti_fraud_ramp(value, low, high) -%}
    least(greatest((coalesce({{ value }}, 0) - {{ low }}) * 1.0 / ({{ high }} - {{ low }}), 0), 1)
{%- endmacro %}
