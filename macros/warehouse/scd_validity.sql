{#
    The validity of a snapshot's versions, one rule for every versioned entity
    (int_offer_versions, int_offer_task_versions):
    scd_version_order(key): in the CTE over the snapshot, version_number (1 = first captured)
      and next_valid_from (the next version's dbt_valid_from) per `key`.
    scd_validity(): in the CTE after it, valid_from (the first version is valid from the
      entity's created_at when older than the first snapshot, so older facts still find a
      version), valid_to (NULL for the current version) and is_current.
    Example: row_number ... -> {{ scd_version_order('offer_id') }}; then {{ scd_validity() }}
#}
{% macro scd_version_order(key) -%}
    row_number() over (partition by {{ key }} order by dbt_valid_from) as version_number,
    lead(dbt_valid_from) over (partition by {{ key }} order by dbt_valid_from) as next_valid_from
{%- endmacro %}

{% macro scd_validity() -%}
    case
        when version_number = 1 then least(created_at, dbt_valid_from)
        else dbt_valid_from
    end as valid_from,
    next_valid_from as valid_to,
    next_valid_from is null as is_current
{%- endmacro %}
