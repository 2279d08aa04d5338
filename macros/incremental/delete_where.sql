{#
    delete_where(relation, key, condition): delete the rows of `relation` that match `condition`,
    on every engine: `delete from <relation> where <condition>` (what production runs). On the
    CI emulator, which has no DELETE, the stand-in emulator_delete_where (macros/ci/emulator.sql)
    deletes the same rows by `key`.
#}
{% macro delete_where(relation, key, condition) -%}
    {%- if is_emulator() -%}
        {{ emulator_delete_where(relation, key, condition) }}
    {%- else -%}
        delete from {{ relation }}
        where {{ condition }}
    {%- endif -%}
{%- endmacro %}
