{#
    create_ops_sources(): run by on-run-start (dbt_project.yml). Makes the sources of schema
    `ops` exist before any model reads them, so a build on a fresh warehouse never fails for
    want of them (the tables are then empty; ops.build_runs, the run log, is written by
    publish_marts, macros/audit/build_runs.sql):
    - `ops.fraud_review_decisions`: written by the web app (src/offerwall/app/decisions.py);
    - `ops.gdpr_erasure_requests`: written by `offerwall erase` (src/offerwall/erasure.py) or by
      the privacy team's tooling; never a file in git (docs/privacy.md).
    Neither is written by dbt:
    - DuckDB: the writers append to their own small file, the ops store (env OPS_DUCKDB_PATH,
      default ops.duckdb beside the warehouse file), never to the warehouse file, which a dbt
      build holds for writing. At the start of every dbt invocation this macro attaches the ops
      store read-only for a moment and copies each of its ops tables into the warehouse table of
      the same name in schema ops (create or replace: the copy is the replica of the ops store,
      like raw is the replica of the product's). A table the store does not hold (never written)
      is created empty in the warehouse (or left as it is). docs/app.md explains the locking.
    - BigQuery: the writers append to the real tables <ops dataset>.<table>; this macro only
      creates the dataset and the empty tables when they are missing.
#}
{% macro create_ops_sources() %}
    {%- if execute -%}
        {{ return(adapter.dispatch('create_ops_sources', 'offerwall')()) }}
    {%- endif -%}
    {{ return('select 1') }}
{% endmacro %}


{# The decisions table's columns and types, one definition for the hook and the app's docs. #}
{% macro ops_fraud_review_decisions_columns() %}
    {{ return([
        ('decision_id', dbt.type_string()),
        ('user_id', dbt.type_string()),
        ('decision', dbt.type_string()),
        ('reviewer', dbt.type_string()),
        ('decided_at', dbt.type_timestamp()),
        ('note', dbt.type_string()),
        ('risk_score_at_decision', type_float64()),
        ('score_version', dbt.type_string()),
    ]) }}
{% endmacro %}


{# The erasure requests' columns and types (src/offerwall/erasure.py writes the same ones). #}
{% macro ops_gdpr_erasure_requests_columns() %}
    {{ return([
        ('user_id', dbt.type_string()),
        ('requested_at', dbt.type_timestamp()),
    ]) }}
{% endmacro %}


{# Every ops source table: name -> columns. build_runs is written by publish_marts in the
   warehouse itself (macros/audit/build_runs.sql), never in the ops store; it is created empty
   here so its readers (the app, the docs site) find it on a fresh warehouse. #}
{% macro ops_source_tables() %}
    {{ return({
        'fraud_review_decisions': ops_fraud_review_decisions_columns(),
        'gdpr_erasure_requests': ops_gdpr_erasure_requests_columns(),
        'build_runs': build_runs_columns(),
    }) }}
{% endmacro %}


{# Where the DuckDB ops store lives: var ops_duckdb_path, env OPS_DUCKDB_PATH, else
   ops.duckdb in the warehouse file's directory. #}
{% macro ops_duckdb_path() %}
    {%- set configured = var('ops_duckdb_path', none) or env_var('OPS_DUCKDB_PATH', '') -%}
    {%- if configured -%}
        {{ return(configured) }}
    {%- endif -%}
    {%- set warehouse = target.path | string -%}
    {%- if '/' in warehouse -%}
        {{ return(warehouse.rsplit('/', 1)[0] ~ '/ops.duckdb') }}
    {%- endif -%}
    {{ return('ops.duckdb') }}
{% endmacro %}


{% macro default__create_ops_sources() %}
    {%- set schema = var('ops_schema') -%}
    {%- set sql -%}
        create schema if not exists {{ schema }};
        {%- for table, columns in ops_source_tables().items() %}
        create table if not exists {{ schema }}.{{ table }} (
            {%- for name, type in columns %}
            {{ name }} {{ type }}{{ "," if not loop.last }}
            {%- endfor %}
        ){{ ";" if not loop.last }}
        {%- endfor %}
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}


{% macro bigquery__create_ops_sources() %}
    {%- set schema = var('ops_schema') -%}
    {%- set sql -%}
        create schema if not exists `{{ target.project }}`.`{{ schema }}`;
        {%- for table, columns in ops_source_tables().items() %}
        create table if not exists `{{ target.project }}`.`{{ schema }}`.{{ table }} (
            {%- for name, type in columns %}
            {{ name }} {{ type }}{{ "," if not loop.last }}
            {%- endfor %}
        ){{ ";" if not loop.last }}
        {%- endfor %}
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}


{% macro duckdb__create_ops_sources() %}
    {%- set create = default__create_ops_sources() -%}
    {%- set schema = var('ops_schema') -%}
    {%- set path = ops_duckdb_path() | replace("'", "''") -%}
    {%- set found = run_query("select count(*) from glob('" ~ path ~ "')").columns[0].values()[0] -%}
    {%- if found == 0 -%}
        {{ return(create) }}
    {%- endif -%}
    {#- The ops store is attached read-only only for the copy (milliseconds); its writers retry
        while it is. Which ops tables the store holds is looked up first: a table never written
        there is left as the warehouse has it (created empty when missing). -#}
    {%- do run_query("attach '" ~ path ~ "' as offerwall_ops_store (read_only)") -%}
    {%- set held = run_query(
        "select table_name from duckdb_tables() where database_name = 'offerwall_ops_store'"
    ).columns[0].values() -%}
    {%- do run_query("detach offerwall_ops_store") -%}
    {%- set copied = [] -%}
    {%- for table in ops_source_tables() if table in held -%}
        {%- do copied.append(table) -%}
    {%- endfor -%}
    {%- if not copied -%}
        {{ return(create) }}
    {%- endif -%}
    {%- set sql -%}
        {{ create }};
        attach '{{ path }}' as offerwall_ops_store (read_only);
        {%- for table in copied %}
        create or replace table {{ schema }}.{{ table }} as
        select
            {%- for name, type in ops_source_tables()[table] %}
            cast({{ name }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        from offerwall_ops_store.{{ table }};
        {%- endfor %}
        detach offerwall_ops_store
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}
