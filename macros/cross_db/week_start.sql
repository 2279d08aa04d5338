{#
    week_start(date_column): the Monday of the ISO week the date falls in, as a date, on both
    engines (DuckDB's date_trunc('week') is Monday-based, BigQuery's WEEK is Sunday-based, so
    neither is used): the date minus its whole days since a Monday (1970-01-05), modulo 7.
    Example: {{ week_start('signup_date') }} as signup_week
#}
{% macro week_start(date_column) -%}
    {%- set days_since_monday = 'mod(' ~ days_between("cast('1970-01-05' as date)", date_column) ~ ', 7)' -%}
    cast({{ dbt.dateadd('day', '-1 * ' ~ days_since_monday, date_column).split() | join(' ') }} as date)
{%- endmacro %}
