{#
    rows_reconcile(model, staged, quarantined, all_rows): no raw row is lost or counted twice.
    `model` is the raw table, `all_rows` its base model (one row per raw row with a
    `disposition`), `staged`/`quarantined` the staging and quarantine models. Passes when
      raw rows = base rows
      and raw rows = staged + quarantined + superseded (older versions and exact copies)
      and the base's staged/quarantined counts equal the two models' row counts.
    Returns one row with all the counts when anything differs.
#}
{% test rows_reconcile(model, staged, quarantined, all_rows) %}

with

counts as (
    select
        (select count(*) from {{ model }}) as raw_rows,
        (select count(*) from {{ all_rows }}) as base_rows,
        (select count(*) from {{ staged }}) as staged_rows,
        (select count(*) from {{ quarantined }}) as quarantined_rows,
        (select count(*) from {{ all_rows }} where disposition = 'staged') as base_staged_rows,
        (select count(*) from {{ all_rows }} where disposition = 'quarantined') as base_quarantined_rows,
        (select count(*) from {{ all_rows }} where disposition = 'superseded') as superseded_rows
)

select *
from counts
where raw_rows <> base_rows
    or raw_rows <> staged_rows + quarantined_rows + superseded_rows
    or staged_rows <> base_staged_rows
    or quarantined_rows <> base_quarantined_rows

{% endtest %}
