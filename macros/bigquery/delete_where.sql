{#
    delete_where(relation, key, condition): delete the rows of `relation` that match `condition`.

    Everywhere it is `delete from <relation> where <condition>`: the statement production runs.
    CI-only switch (docs/bigquery.md, "Emulator switches"): the BigQuery emulator used by
    `make test` (target bigquery_emulator) has no DELETE statement, so there the same rows are
    deleted with `merge ... when matched then delete`, joined on the relation's unique `key`.
    Same rows, same result; only the statement differs.
#}
{% macro delete_where(relation, key, condition) -%}
    {%- if target.name == 'bigquery_emulator' -%}
        merge into {{ relation }} as dbt_target
        using (
            select {{ key }} from {{ relation }}
            where {{ condition }}
        ) as dbt_doomed
        on dbt_target.{{ key }} = dbt_doomed.{{ key }}
        when matched then delete
    {%- else -%}
        delete from {{ relation }}
        where {{ condition }}
    {%- endif -%}
{%- endmacro %}
