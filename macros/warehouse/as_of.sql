{#
    as_of_timestamp(): the warehouse's "now", as a SQL timestamp expression.

    It is the data's own watermark, never the machine clock, so a rebuild of the same raw data
    gives the same answer: the latest `loaded_at` of the completions replica
    (stg_offerwall__user_offers, i.e. max `_loaded_at` of raw.user_offers). Setting the var
    `as_of` (e.g. `--vars '{as_of: "2026-04-01 00:00:00"}'`) overrides it; unit tests do that.

    Used by the user-level marts: an LTV horizon dN is only filled once signup_date + N days
    <= the as-of date.
#}
{% macro as_of_timestamp() -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        (select max(loaded_at) from {{ ref('stg_offerwall__user_offers') }})
    {%- endif -%}
{%- endmacro %}
