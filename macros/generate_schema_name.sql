{#
    Where each layer lands.
    Production (target named in var `production_targets`): the layer's own dataset,
    e.g. `staging`, `marts_core`, `marts_anti_fraud`.
    Everywhere else (dev, CI, emulator): under the developer's own prefix,
    `<target.schema>_<layer>`, so nobody overwrites production or each other.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set is_production = target.name in var('production_targets', ['prod']) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif is_production -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
