{#
    rounded_ratio(numerator, denominator): numerator / denominator as an 8-byte float, rounded
    to var('ratio_decimals') digits; NULL when the denominator is not positive. Rounding makes a
    ratio of exact money identical on DuckDB and BigQuery (their float division differs in the
    last bits).
#}
{% macro rounded_ratio(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then round(
                cast({{ numerator }} as {{ type_float64() }}) / cast({{ denominator }} as {{ type_float64() }}),
                {{ var('ratio_decimals') }}
            )
    end
{%- endmacro %}
