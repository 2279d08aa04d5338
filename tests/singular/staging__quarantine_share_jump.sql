{{ config(severity='warn', tags=['quarantine']) }}
-- Warns when the quarantine share of a raw table jumps against its own trailing baseline: the
-- mean share of the last var('quarantine_baseline_builds') green builds
-- (<audit schema>.audit_quarantine_share_history, written by the on-run-end hook). A share
-- above var('quarantine_jump_factor') x the baseline and at least
-- var('quarantine_jump_min_share') above it is a new problem; a steady share of bad rows is
-- not (docs/guarantees.md, guarantee 13). No history yet: no warning. Returns the tables
-- whose share jumped, with the figures.
{%- set history = existing_audit_relation('audit_quarantine_share_history') if execute else none %}
with

current_shares as (
    {%- for table in raw_tables() %}
    select
        '{{ table }}' as table_name,
        (select count(*) from {{ ref('stg_offerwall__' ~ table ~ '_quarantine') }}) as quarantined_rows,
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
