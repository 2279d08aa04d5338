{#
    expression_is_true(model, expression, where=none): every row satisfies `expression`
    (a SQL boolean over the model's columns; NULL fails). Rows that fail are returned.
    Example: margin_usd = revenue_usd - reward_cost_usd
#}
{% test expression_is_true(model, expression, column_name=none, where=none) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)
{%- if where %}
    and ({{ where }})
{%- endif %}

{% endtest %}
