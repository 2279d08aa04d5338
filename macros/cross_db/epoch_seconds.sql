{#
    epoch_seconds(timestamp): whole seconds since 1970-01-01 00:00:00 UTC (truncated, as BigQuery does), as an integer (for time
    buckets and "within N seconds" comparisons that stay short in the compiled SQL).
    Example: {{ epoch_seconds('completed_at') }}
#}
{% macro epoch_seconds(timestamp) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'offerwall')(timestamp)) }}
{%- endmacro %}

{% macro default__epoch_seconds(timestamp) -%}
    cast(floor(extract(epoch from {{ timestamp }})) as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro bigquery__epoch_seconds(timestamp) -%}
    unix_seconds({{ timestamp }})
{%- endmacro %}
