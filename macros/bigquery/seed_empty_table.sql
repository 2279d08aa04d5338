{#
    Seeds on BigQuery: create the table of a header-only seed.

    dbt-bigquery creates a seed's table only by loading its rows, and dbt skips the load when
    the CSV has no rows, so a header-only seed (e.g. gdpr_erasure_requests, empty until the
    first erasure request) would leave no table behind and every model reading it would fail
    on BigQuery. These two overrides of dbt-bigquery's macros create the empty table with the
    seed's column types (column_types config, else dbt's inferred type) when there are no
    rows; a seed with rows is loaded exactly as dbt-bigquery does.
    Found by running `dbt seed` on the BigQuery emulator (docs/bigquery.md).
#}
{% macro bigquery__create_csv_table(model, agate_table) %}
    {%- if agate_table.rows | length == 0 -%}
        {{ return(bigquery_create_empty_seed_table(model, agate_table)) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{% macro bigquery__reset_csv_table(model, full_refresh, old_relation, agate_table) %}
    {{ adapter.drop_relation(old_relation) }}
    {%- if agate_table.rows | length == 0 -%}
        {{ return(bigquery_create_empty_seed_table(model, agate_table)) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{% macro bigquery_create_empty_seed_table(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', none) -%}
    {%- set sql -%}
        create table {{ this.render() }} (
            {%- for col_name in agate_table.column_names %}
            {{ adapter.quote_seed_column(col_name, quote_seed_column) }} {{ column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) }}
            {{- "," if not loop.last }}
            {%- endfor %}
        )
    {%- endset -%}
    {%- call statement('_') -%}
        {{ sql }}
    {%- endcall -%}
    {{ return(sql) }}
{% endmacro %}
