{#
    is_incremental_run(): the one place every incremental model asks "is this an incremental
    run?". It is dbt's is_incremental(), unless the var `assume_incremental` is true: then the
    incremental branch is compiled without asking the warehouse, so
    `dbt compile --no-introspect --vars '{assume_incremental: true}'` works with no connection
    (the BigQuery path uses it to check the incremental SQL).
#}
{% macro is_incremental_run() -%}
    {%- if var('assume_incremental', false) -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(is_incremental()) }}
{%- endmacro %}
