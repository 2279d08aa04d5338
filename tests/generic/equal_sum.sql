{#
    equal_sum(model, column_name, compare_model, compare_column=none, tolerance=0):
    sum(column) over the model equals sum(compare_column) over compare_model (within
    `tolerance`). A reconciliation test: e.g. total margin_usd is the same in the completion
    fact and in a daily aggregate. Returns one row with both totals when they differ.
#}
{% test equal_sum(model, column_name, compare_model, compare_column=none, tolerance=0) %}

with

totals as (
    select
        (select coalesce(sum({{ column_name }}), 0) from {{ model }}) as model_total,
        (select coalesce(sum({{ compare_column or column_name }}), 0) from {{ compare_model }}) as compare_total
)

select *
from totals
where abs(model_total - compare_total) > {{ tolerance }}

{% endtest %}
