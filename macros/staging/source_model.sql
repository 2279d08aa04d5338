{#
    source_model(): which source system the warehouse reads, from the var `source_model`:
    'v1' (default: the replicated OLTP tables in `raw`) or 'v2' (the versioned tables and the
    event log in `raw_v2`, docs/source-redesign.md). Any other value stops the build with one
    clear error. The models that switch call it and hold the ref themselves (no ref here):
    the five v1 base models (their `source` import CTE) and int_offer_versions /
    int_offer_task_versions (history from v2 versions instead of the snapshots).

    Example: {% if source_model() == 'v2' %} ... {% endif %}
#}
{% macro source_model() -%}
    {%- set value = var('source_model', 'v1') -%}
    {%- if value not in ['v1', 'v2'] -%}
        {{ exceptions.raise_compiler_error("var source_model must be 'v1' or 'v2', got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
