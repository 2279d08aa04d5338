{#
    quarantine_share_below(model, raw, max_share): fails (one row, with the share) when the
    quarantined rows of `model` (a quarantine model) are more than `max_share` of the rows of
    `raw` (the raw table). Only bad rows count: superseded versions are not in quarantine.
    Every quarantined row counts, `parent_quarantined` included (those rows are missing from
    the marts all the same); `exclude_reasons` can leave reasons out.
    The staging model depends on its quarantine model, so when the error-level test fails,
    `dbt build` skips staging's children: the marts keep their last good numbers.
    Applied twice per source: severity warn at var('quarantine_warn_share') (near the error
    level; a jump against the table's own baseline warns earlier, tests/singular), severity error at var('quarantine_error_share') to stop a build on a broken feed.
#}
{% test quarantine_share_below(model, raw, max_share, exclude_reasons=[]) %}

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
