{{ config(severity='warn', tags=['quarantine']) }}
-- Warns when the quarantine share of a raw table jumps against its own trailing baseline: the
-- mean share of the last var('quarantine_baseline_builds') green builds
-- (<audit schema>.audit_quarantine_share_history, written by the on-run-end hook). A share
-- above var('quarantine_jump_factor') x the baseline and at least
-- var('quarantine_jump_min_share') above it is a new problem; a steady share of bad rows is
-- not (docs/guarantees.md, guarantee 10). No history yet: no warning. Returns the tables
-- whose share jumped, with the figures.
{%- set quarantine_relations = {} -%}
{%- for table in raw_tables() -%}
    {%- do quarantine_relations.update({table: ref('stg_offerwall__' ~ table ~ '_quarantine')}) -%}
{%- endfor %}
{{ quarantine_share_jump_sql(quarantine_relations) }}
