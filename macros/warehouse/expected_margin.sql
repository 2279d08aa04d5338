{#
    expected_margin(status, nominal_margin, is_matured, credit_probability, reversal_probability):
    the margin a completion is expected to end with, given its status as of a date:
      credited, matured (old enough that no reversal comes any more) -> its margin
      credited, not matured -> margin x (1 - reversal_probability)
      pending               -> margin x credit_probability x (1 - reversal_probability)
      reversed, rejected    -> 0 (as recognised)
    nominal_margin = payout_usd - reward_usd. Used by int_completions_expected_margin and by the
    backtest (fct_expected_margin_backtest), so both value a status the same way.
    Example: {{ expected_margin('status', 'payout_usd - reward_usd', 'is_matured', 'p_credit', 'p_rev') }}
#}
{% macro expected_margin(status, nominal_margin, is_matured, credit_probability, reversal_probability) -%}
    case
        when {{ status }} = 'credited' and {{ is_matured }}
            then ({{ nominal_margin }})
        when {{ status }} = 'credited'
            then ({{ nominal_margin }}) * (1 - coalesce({{ reversal_probability }}, 0))
        when {{ status }} = 'pending'
            then ({{ nominal_margin }}) * coalesce({{ credit_probability }}, 0)
                * (1 - coalesce({{ reversal_probability }}, 0))
        else 0
    end
{%- endmacro %}
