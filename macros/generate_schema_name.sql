{#
    generate_schema_name(custom_schema_name, node): the dataset (BigQuery) or schema (DuckDB)
    each layer lands in (docs/bigquery.md, "Datasets per target").

    Production is recognised by target name: a target listed in var('production_targets')
    (dbt_project.yml, default [prod]) writes each layer to its own dataset: `staging`,
    `intermediate`, `marts_core`, `marts_offer_management`, `marts_user_acquisition`,
    `marts_anti_fraud`, `snapshots`, `seeds`.
    Every other target (dev on DuckDB, a developer's or a pull request's BigQuery target, the
    emulator in CI) writes under its own prefix, `<target.schema>_<layer>` (e.g.
    `dbt_alice_marts_core`, `ci_pr_123_staging`), so nobody overwrites production or each other.
    A node without a custom schema lands in `target.schema` itself.
    Write-audit-publish (docs/guarantees.md): with the var `wap` true, the marts (custom schema
    `marts_*`) are built into private schemas, `wap_marts_core` / `<target.schema>_wap_marts_core`,
    and `dbt run-operation publish_marts` copies them to the published ones once the build passed.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set is_production = target.name in var('production_targets', ['prod']) -%}
    {%- if custom_schema_name is not none and var('wap', false) and (custom_schema_name | trim).startswith('marts_') -%}
        {%- set custom_schema_name = 'wap_' ~ (custom_schema_name | trim) -%}
    {%- endif -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif is_production -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
