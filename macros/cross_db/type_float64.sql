{#
    type_float64(): the name of an 8-byte floating point type on the current engine, for ratios
    and scores in marts with enforced contracts (dbt.type_float() is a 4-byte REAL on DuckDB).
    Money stays exact as `numeric` (DuckDB DECIMAL(18,3), BigQuery NUMERIC); counts as int64.
    In contract YAML write the same with
    `data_type: "{{ 'float64' if target.type == 'bigquery' else 'double' }}"`.
#}
{% macro type_float64() -%}
    {{ return(adapter.dispatch('type_float64', 'offerwall')()) }}
{%- endmacro %}

{% macro default__type_float64() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_float64() -%}
    double
{%- endmacro %}

{% macro bigquery__type_float64() -%}
    float64
{%- endmacro %}
