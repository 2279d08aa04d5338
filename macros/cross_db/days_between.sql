{#
    days_between(start_date, end_date): whole days from start_date to end_date (end - start),
    through dbt's cross-database `datediff`, with its whitespace collapsed so the compiled SQL
    stays on one line (SQLFluff measures compiled lines).
    Example: {{ days_between('signup_date', 'completed_date') }} < 7
#}
{% macro days_between(start_date, end_date) -%}
    {{ return(dbt.datediff(start_date, end_date, 'day').split() | join(' ')) }}
{%- endmacro %}
