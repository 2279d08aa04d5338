{#
    rows_equal_count(model, compare_model): both relations have the same number of rows, e.g.
    one fact row per staged completion. Returns one row with both counts when they differ.
#}
{% test rows_equal_count(model, compare_model) %}

with

counts as (
    select
        (select count(*) from {{ model }}) as model_rows,
        (select count(*) from {{ compare_model }}) as compare_rows
)

select *
from counts
where model_rows <> compare_rows

{% endtest %}
