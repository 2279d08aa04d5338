{#
    window_neighbours(timed, columns): the CTEs that let a self-join find the completions of a
    task within one time window of each other by equality instead of a range. `timed` (a CTE) has
    a `time_bucket` column (the completion's second divided by the window, floored); each of its
    rows is listed under its own bucket and the two next to it in `neighbours` (with `columns`
    and `time_bucket`), so `timed as a join neighbours as b on a.<task> = b.<task> and
    a.time_bucket = b.time_bucket` pairs only completions at most one bucket apart; the caller
    then keeps the pairs within the window. A range condition on the bucket would pair every
    completion of a popular task first and filter after (42 s instead of under 2 at 1M rows).
    Emits CTEs `bucket_shifts` and `neighbours`, each followed by a comma: call it inside a
    `with` list, before the CTE that joins them.
#}
{% macro window_neighbours(timed, columns) -%}
bucket_shifts as (
    select -1 as shift
    union all
    select 0 as shift
    union all
    select 1 as shift
),

neighbours as (
    select
        {%- for column in columns %}
        {{ timed }}.{{ column }},
        {%- endfor %}
        {{ timed }}.time_bucket + bucket_shifts.shift as time_bucket
    from {{ timed }}
    cross join bucket_shifts
),
{%- endmacro %}
