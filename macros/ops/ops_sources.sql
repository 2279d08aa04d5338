{#
    create_ops_sources(): run by on-run-start (dbt_project.yml). Makes the source
    `ops.fraud_review_decisions` exist before any model reads it, so a build on a fresh
    warehouse never fails for want of it (the table is then empty).

    The decisions are written by the web app (src/offerwall/app/decisions.py), not by dbt:
    - DuckDB: the app appends to its own small file, the ops store (env OPS_DUCKDB_PATH, default
      ops.duckdb beside the warehouse file), never to the warehouse file, which a dbt build holds
      for writing. At the start of every dbt invocation this macro attaches the ops store
      read-only for a moment and copies its decisions into the warehouse table
      ops.fraud_review_decisions (create or replace: the copy is the replica of the app's
      table, like raw is the replica of the product's). Without an ops store the table is
      created empty. docs/app.md explains the locking.
    - BigQuery: the app appends to the real table <ops dataset>.fraud_review_decisions; this
      macro only creates the dataset and the empty table when they are missing.
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


{# Where the app's DuckDB ops store lives: var ops_duckdb_path, env OPS_DUCKDB_PATH, else
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
    {%- set columns = ops_fraud_review_decisions_columns() -%}
    {%- set sql -%}
        create schema if not exists {{ schema }};
        create table if not exists {{ schema }}.fraud_review_decisions (
            {%- for name, type in columns %}
            {{ name }} {{ type }}{{ "," if not loop.last }}
            {%- endfor %}
        )
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}


{% macro bigquery__create_ops_sources() %}
    {%- set schema = var('ops_schema') -%}
    {%- set columns = ops_fraud_review_decisions_columns() -%}
    {%- set sql -%}
        create schema if not exists `{{ target.project }}`.`{{ schema }}`;
        create table if not exists `{{ target.project }}`.`{{ schema }}`.fraud_review_decisions (
            {%- for name, type in columns %}
            {{ name }} {{ type }}{{ "," if not loop.last }}
            {%- endfor %}
        )
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
    {%- set columns = ops_fraud_review_decisions_columns() -%}
    {#- The ops store is attached read-only only for the copy (milliseconds); the app's writer
        retries while it is. An ops store without the table (never written) copies nothing. -#}
    {%- set sql -%}
        {{ create }};
        attach '{{ path }}' as offerwall_ops_store (read_only);
        create or replace table {{ schema }}.fraud_review_decisions as
        select
            {%- for name, type in columns %}
            cast({{ name }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        from offerwall_ops_store.fraud_review_decisions;
        detach offerwall_ops_store
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}
