{#
    first_failed_rule(rules): the quarantine `reason` of a row: the name of the first rule it
    breaks, NULL when it breaks none. `rules` is an ordered list of [reason, condition] pairs,
    a condition being a SQL boolean that is TRUE when the row is bad (NULL counts as not
    bad, so write conditions that are never NULL for bad rows, e.g. with coalesce).

    Order matters: a row's own defects come first, defects inherited from a parent row last.

    Example: {{ first_failed_rule([['null_key', 'id is null'], ['negative_amount', 'payout_cents < 0']]) }}
#}
{% macro first_failed_rule(rules) -%}
    case
        {%- for rule in rules %}
        when {{ rule[1] }} then '{{ rule[0] }}'
        {%- endfor %}
    end
{%- endmacro %}
