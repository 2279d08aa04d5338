{#
    iso_week_start(date_expression): the Monday of the ISO week of a date, as a date.

    Why not dbt.date_trunc('week', ...): DuckDB's weeks start on Monday, BigQuery's WEEK on
    Sunday, so the same cohort would land in different weeks on the two engines.
#}
{% macro iso_week_start(date_expression) -%}
    {{ return(adapter.dispatch('iso_week_start', 'offerwall')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_week_start(date_expression) -%}
    cast(date_trunc('week', {{ date_expression }}) as date)
{%- endmacro %}

{% macro bigquery__iso_week_start(date_expression) -%}
    date_trunc({{ date_expression }}, isoweek)
{%- endmacro %}
