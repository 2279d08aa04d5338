{#
    iso_week_start(date_expression): the Monday of the ISO week of a date, as a date, the same on
    every engine. dbt.date_trunc('week', ...) is not used: DuckDB's weeks start on Monday,
    BigQuery's WEEK on Sunday. Plain arithmetic (the date minus its whole days since a Monday,
    1970-01-05, modulo 7) also runs unchanged on the CI emulator, which translates BigQuery SQL.
    Example: {{ iso_week_start('signup_date') }} as signup_week
#}
{% macro iso_week_start(date_expression) -%}
    {%- set days_since_monday = 'mod(' ~ days_between("cast('1970-01-05' as date)", date_expression) ~ ', 7)' -%}
    cast({{ dbt.dateadd('day', '-1 * ' ~ days_since_monday, date_expression).split() | join(' ') }} as date)
{%- endmacro %}
