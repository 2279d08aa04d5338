{#
    clean_code(column, case='lower'): a code or label as the warehouse stores it: trimmed,
    one case, empty string -> NULL. The source has `Game`, ` game`, `SURVEY` for one value.

    Example: {{ clean_code('country', 'upper') }}
#}
{% macro clean_code(column, case='lower') -%}
    nullif({{ case }}(trim({{ column }})), '')
{%- endmacro %}
