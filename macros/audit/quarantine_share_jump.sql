{#
    quarantine_share_jump_sql(): the SQL of the singular test staging__quarantine_share_jump
    (kept in a macro: the per-table union is generated). Returns the raw tables whose quarantine
    share now is above var('quarantine_jump_factor') x the mean share of their last
    var('quarantine_baseline_builds') green builds and at least var('quarantine_jump_min_share')
    above it. Without history (first builds): no row. quarantine_relations: a dict of raw table
    name -> the relation of its quarantine model (the test refs them; a macro calls no ref()).
#}
{% macro quarantine_share_jump_sql(quarantine_relations) -%}
{%- set history = existing_audit_relation('audit_quarantine_share_history') if execute and flags.WHICH in ('build', 'test', 'retry') else none -%}
with

current_shares as (
    {%- for table, quarantine_relation in quarantine_relations.items() %}
    select
        '{{ table }}' as table_name,
        (select count(*) from {{ quarantine_relation }}) as quarantined_rows,
        (select count(*) from {{ source('offerwall', table) }}) as raw_rows
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

{% if history is not none -%}
recent as (
    select
        table_name,
        quarantined_rows * 1.0 / nullif(raw_rows, 0) as quarantine_share,
        row_number() over (partition by table_name order by recorded_at desc) as recency
    from {{ history }}
),

baseline as (
    select
        table_name,
        avg(quarantine_share) as baseline_share,
        count(*) as baseline_builds
    from recent
    where recency <= {{ var('quarantine_baseline_builds', 7) }}
    group by table_name
),
{%- else -%}
baseline as (
    select
        table_name,
        0.0 as baseline_share,
        0 as baseline_builds
    from current_shares
    where false
),
{%- endif %}

shares as (
    select
        current_shares.table_name,
        current_shares.quarantined_rows,
        current_shares.raw_rows,
        current_shares.quarantined_rows * 1.0 / nullif(current_shares.raw_rows, 0) as quarantine_share,
        baseline.baseline_share,
        baseline.baseline_builds
    from current_shares
    inner join baseline
        on current_shares.table_name = baseline.table_name
),

final as (
    select *
    from shares
    where quarantine_share > baseline_share * {{ var('quarantine_jump_factor', 2) }}
        and quarantine_share > baseline_share + {{ var('quarantine_jump_min_share', 0.002) }}
)

select * from final
{%- endmacro %}
