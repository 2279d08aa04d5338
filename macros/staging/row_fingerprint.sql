{#
    row_fingerprint(columns): an md5 of a row's content, to tell exact duplicates (same
    fingerprint) from conflicting ones (same id and timestamps, different fingerprint).
    NULLs are encoded so that NULL and '' differ.

    Example: {{ row_fingerprint(['status', 'reward_coins', 'payout_cents']) }}
#}
{% macro row_fingerprint(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
