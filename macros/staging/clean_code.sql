{#
    clean_code(column, case='lower'): a code or label as the warehouse stores it: trimmed of
    spaces, tabs and line breaks, one case, empty string -> NULL. The source has `Game`,
    ` game`, `SURVEY`, `credited\t` for one value.

    Example: {{ clean_code('country', 'upper') }}
#}
{% macro clean_code(column, case='lower') -%}
    nullif({{ case }}({{ trim_whitespace(column) }}), '')
{%- endmacro %}

{#
    trim_whitespace(column): trim() of spaces, tabs, carriage returns and line feeds at both
    ends (plain trim() removes spaces only on both engines).
#}
{% macro trim_whitespace(column) -%}
    {{ return(adapter.dispatch('trim_whitespace', 'offerwall')(column)) }}
{%- endmacro %}

{% macro default__trim_whitespace(column) -%}
    trim({{ column }}, ' \t\r\n')
{%- endmacro %}

{% macro duckdb__trim_whitespace(column) -%}
    trim({{ column }}, chr(32) || chr(9) || chr(13) || chr(10))
{%- endmacro %}
