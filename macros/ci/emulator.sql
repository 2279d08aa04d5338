{#
    Every switch for the BigQuery-API emulator that `make test` runs as CI's stand-in for
    BigQuery (target `bigquery_emulator`, docs/bigquery.md "Emulator switches") lives here:
    production macros ask is_emulator() and call the stand-in below. The one switch that
    cannot call a macro is in dbt_project.yml (+persist_docs: the emulator cannot patch
    descriptions), rendered before macros exist.

    is_emulator(): TRUE on the emulator target, FALSE on every real engine.
#}
{% macro is_emulator() -%}
    {{ return(target.name == 'bigquery_emulator') }}
{%- endmacro %}


{#
    emulator_delete_where(relation, key, condition): the emulator has no DELETE statement, so
    the rows of `relation` matching `condition` are deleted with `merge ... when matched then
    delete`, joined on the relation's unique `key`. Same rows, same result as delete_where.
#}
{% macro emulator_delete_where(relation, key, condition) -%}
    merge into {{ relation }} as dbt_target
    using (
        select {{ key }} from {{ relation }}
        where {{ condition }}
    ) as dbt_doomed
    on dbt_target.{{ key }} = dbt_doomed.{{ key }}
    when matched then delete
{%- endmacro %}


{#
    emulator_row_fingerprint(columns): the emulator has no farm_fingerprint, so the md5 text
    hash (text_row_hash) stands in for row_fingerprint. Fingerprints are compared within one
    build, never stored, so the switch changes no answer.
#}
{% macro emulator_row_fingerprint(columns) -%}
    {{ text_row_hash(columns) }}
{%- endmacro %}


{#
    emulator_row_set_fingerprint(columns): the emulator has no farm_fingerprint, so the set
    fingerprint (row_set_fingerprint) is NULL: it never matches the stored one, and the
    incremental models that compare it (int_user_completion_stats) recompute every user there.
#}
{% macro emulator_row_set_fingerprint(columns) -%}
    cast(null as int64)
{%- endmacro %}


{#
    emulator_publish_copy(source_relation, published_relation): the emulator has no table copy
    DDL (`create or replace table ... copy ...`), so publish_relations gets the same table
    through a query. Grants are not applied (the emulator has no IAM).
#}
{% macro emulator_publish_copy(source_relation, published_relation) -%}
    create or replace table {{ published_relation }} as select * from {{ source_relation }}
{%- endmacro %}


{#
    emulator_raw_rows_checksum(columns): the emulator has no farm_fingerprint, so the raw load
    guards' content checksum (raw_rows_checksum) is the summed length of the rows' text: a
    weaker checksum, CI only.
#}
{% macro emulator_raw_rows_checksum(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as string), '~')") -%}
    {%- endfor -%}
    sum(length(concat({{ parts | join(", '|', ") }})))
{%- endmacro %}
