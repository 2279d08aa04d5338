{#
    median_over(expression, partition_by): the exact median of `expression` over a window,
    one value per row of the partition (NULLs ignored). Use it in a CTE, then aggregate with
    max()/min() when a single value per group is needed.

    Why a window: BigQuery has no exact median aggregate; its `percentile_cont` is analytic
    only. DuckDB's `median` works both as an aggregate and over a window, so both engines give
    the same exact (interpolated) value this way.

    Example: {{ median_over('minutes_to_complete', 'offer_id, task_position') }}
#}
{% macro median_over(expression, partition_by) -%}
    {{ return(adapter.dispatch('median_over', 'offerwall')(expression, partition_by)) }}
{%- endmacro %}

{% macro default__median_over(expression, partition_by) -%}
    percentile_cont(0.5) within group (order by {{ expression }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro duckdb__median_over(expression, partition_by) -%}
    median({{ expression }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro bigquery__median_over(expression, partition_by) -%}
    percentile_cont({{ expression }}, 0.5) over (partition by {{ partition_by }})
{%- endmacro %}
