{#
    JSON array text -> a real array of text, on both engines.

    is_json_text_array(column): TRUE when the text parses as a JSON array, also TRUE when the
    column is NULL (the source allows NULL); FALSE for malformed JSON or a non-array value.

    json_text_array(column, case='lower'): the array, each element trimmed and in one case;
    NULL or malformed input gives an empty array (BigQuery cannot store a NULL array, so empty
    is the one "nothing" on both engines). Elements are normalised in the JSON text before
    parsing (spaces around the quotes removed, case changed): codes never hold escapes.
#}
{% macro is_json_text_array(column) -%}
    {{ return(adapter.dispatch('is_json_text_array', 'offerwall')(column)) }}
{%- endmacro %}

{% macro duckdb__is_json_text_array(column) -%}
    ({{ column }} is null or coalesce(json_valid({{ column }}) and left(trim({{ column }}), 1) = '[', false))
{%- endmacro %}

{% macro bigquery__is_json_text_array(column) -%}
    ({{ column }} is null or coalesce(json_type(safe.parse_json({{ column }})) = 'array', false))
{%- endmacro %}


{% macro json_text_array(column, case='lower') -%}
    {{ return(adapter.dispatch('json_text_array', 'offerwall')(column, case)) }}
{%- endmacro %}

{% macro _normalised_json_text(column, case) -%}
    {{ case }}(regexp_replace({{ column }}, {{ _json_quote_spaces_pattern() }}, '"'{{ _regexp_global_flag() }}))
{%- endmacro %}

{% macro _json_quote_spaces_pattern() -%}
    '[[:space:]]*"[[:space:]]*'
{%- endmacro %}

{% macro _regexp_global_flag() -%}
    {%- if target.type == 'duckdb' -%}, 'g'{%- endif -%}
{%- endmacro %}

{% macro duckdb__json_text_array(column, case) -%}
    coalesce(
        case
            when {{ offerwall.duckdb__is_json_text_array(column) }}
                then from_json({{ _normalised_json_text(column, case) }}, '["VARCHAR"]')
        end,
        []
    )
{%- endmacro %}

{% macro bigquery__json_text_array(column, case) -%}
    coalesce(
        json_value_array(safe.parse_json({{ _normalised_json_text(column, case) }})),
        []
    )
{%- endmacro %}
