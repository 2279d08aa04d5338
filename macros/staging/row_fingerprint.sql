{#
    row_fingerprint(columns): the engine's native 64-bit hash of a row's content (an integer),
    to tell exact duplicates (same fingerprint) from conflicting ones (same id and timestamps,
    different fingerprint). The columns are hashed typed, not cast to text and concatenated,
    so NULL and '' differ and no separator can make two different rows look alike.
    - DuckDB: hash(col1, col2, ...) (UBIGINT; NULL hashes to its own constant, per position);
    - BigQuery: farm_fingerprint of the JSON text of a struct of the columns (INT64; NULL is
      `null`, '' is `""`).
    Several times cheaper than an md5 of the concatenated text, and windows over an integer
    sort faster than over 32-character text.

    Example: {{ row_fingerprint(['status', 'reward_coins', 'payout_cents']) }}
#}
{% macro row_fingerprint(columns) -%}
    {{ return(adapter.dispatch('row_fingerprint', 'offerwall')(columns)) }}
{%- endmacro %}

{% macro default__row_fingerprint(columns) -%}
    {{ text_row_hash(columns) }}
{%- endmacro %}

{% macro duckdb__row_fingerprint(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{#- On the CI emulator (no farm_fingerprint) a stand-in: macros/ci/emulator.sql. -#}
{% macro bigquery__row_fingerprint(columns) -%}
    {%- if is_emulator() -%}
    {{ emulator_row_fingerprint(columns) }}
    {%- else -%}
    farm_fingerprint(to_json_string(struct(
        {%- for column in columns %}{{ column }} as c{{ loop.index0 }}{{ ', ' if not loop.last }}{% endfor -%}
    )))
    {%- endif -%}
{%- endmacro %}

{#
    row_key(columns): row_fingerprint(columns) as text, for published row identifiers
    (`raw_row_key`) that stay a string on both engines.

    Example: {{ row_key(['completion_id', 'updated_at', 'loaded_at', 'row_fingerprint', 'copy_number']) }}
#}
{% macro row_key(columns) -%}
    cast({{ row_fingerprint(columns) }} as {{ dbt.type_string() }})
{%- endmacro %}

{#
    text_row_hash(columns): an md5 (hex text) of the columns cast to text and joined with '|',
    NULL encoded as '<null>'. Slower than row_fingerprint; kept for published keys whose values
    must not change (`spend_key` of the UA spend grain).

    Example: {{ text_row_hash(['spend_date', 'channel', 'country', 'platform']) }}
#}
{% macro text_row_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
