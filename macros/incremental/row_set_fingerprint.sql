{#
    row_set_fingerprint(columns): an aggregate, the fingerprint of a set of rows: the bitwise
    xor of row_fingerprint(columns) over the group's rows (an integer). Independent of the
    order the rows are read in; a row added, removed or changed in any of `columns` changes it
    (unless two 64-bit hashes collide). An incremental model compares it with the one it
    stored to find the keys whose rows changed, whatever the reason (a new version, a re-join,
    a row deleted, an erasure), without keeping the rows (int_user_completion_stats).
    Rows must be distinct (include the row's id): two equal rows cancel out.
    On the CI emulator (no farm_fingerprint) the stand-in emulator_row_set_fingerprint is NULL:
    a NULL fingerprint never matches, so every key is recomputed there (a full rebuild's answer).

    Example: {{ row_set_fingerprint(['completion_id', 'status']) }} as completions_fingerprint
#}
{% macro row_set_fingerprint(columns) -%}
    {{ return(adapter.dispatch('row_set_fingerprint', 'offerwall')(columns)) }}
{%- endmacro %}

{% macro default__row_set_fingerprint(columns) -%}
    bit_xor({{ row_fingerprint(columns) }})
{%- endmacro %}

{#- On the CI emulator (no farm_fingerprint) a stand-in: macros/ci/emulator.sql. -#}
{% macro bigquery__row_set_fingerprint(columns) -%}
    {%- if is_emulator() -%}
    {{ emulator_row_set_fingerprint(columns) }}
    {%- else -%}
    bit_xor({{ row_fingerprint(columns) }})
    {%- endif -%}
{%- endmacro %}
