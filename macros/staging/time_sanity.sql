{#
    future_condition(column, loaded_at_column='loaded_at'): TRUE when a source timestamp is
    later than the moment replication wrote the row plus var('future_tolerance_hours') (clock
    skew between the app and the replica). Such a row cannot be true: quarantined with its own
    reason (`updated_in_future`, `created_in_future`) before it can win deduplication or open
    a snapshot version (docs/guarantees.md, guarantee 11).

    Example: ['updated_in_future', future_condition('updated_at')]
#}
{% macro future_condition(column, loaded_at_column='loaded_at') -%}
    {{ column }} > {{ dbt.dateadd('hour', var('future_tolerance_hours', 1), loaded_at_column) }}
{%- endmacro %}
