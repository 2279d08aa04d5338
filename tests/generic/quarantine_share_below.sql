{#
    quarantine_share_below(model, raw, max_share): fails (one row, with the share) when the
    quarantined rows of `model` (a quarantine model) are more than `max_share` of the rows of
    `raw` (the raw table). Only bad rows count: superseded versions are not in quarantine.
    Rows quarantined only because their parent is (`parent_quarantined`) are not counted by
    default (`exclude_reasons`): they are no defect of this feed, and the parent table's own
    share test already reports the bad parent row.
    Applied twice per source: severity warn at var('quarantine_warn_share') to surface the
    share, severity error at var('quarantine_error_share') to stop a build on a broken feed.
#}
{% test quarantine_share_below(model, raw, max_share, exclude_reasons=['parent_quarantined']) %}

with

counts as (
    select
        (
            select count(*)
            from {{ model }}
            {%- if exclude_reasons %}
            where reason not in ('{{ exclude_reasons | join("', '") }}')
            {%- endif %}
        ) as quarantined_rows,
        (select count(*) from {{ raw }}) as raw_rows
),

shares as (
    select
        quarantined_rows,
        raw_rows,
        quarantined_rows * 1.0 / nullif(raw_rows, 0) as quarantine_share,
        {{ max_share }} as max_share
    from counts
)

select *
from shares
where quarantine_share > max_share

{% endtest %}
