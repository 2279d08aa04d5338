{#
    fraud_signals(): the one list of anti-fraud signals (fct_user_fraud_signals scores them,
    fct_fraud_review_queue explains them). Each signal: its name (<name>_signal columns), the
    raw value column, the prefix of its low/high vars, its weight var, the fraud type it names,
    and a factor the ramp is multiplied by (1; a 0/1 gate that lets the signal count only from a
    minimum count; or a scale that weakens it below one), plus `ramp`: the value scaled to
    [0, 1], 0 at or below var <vars>_low, 1 at or above <vars>_high, linear in between; NULL
    counts as 0 (no evidence); rounded to 6 decimals so a ratio a float epsilon above `low`
    counts as 0.
    Example: {% for signal in fraud_signals() %} {{ signal.ramp }} * {{ signal.factor }} ... {% endfor %}
#}
{% macro fraud_signals() -%}
    {%- set signals = [
        {'name': 'device', 'value': 'device_sharing_users', 'vars': 'anti_fraud_device_users',
            'weight': 'anti_fraud_weight_device', 'fraud_type': 'device_farm', 'factor': '1'},
        {'name': 'network', 'value': 'network_sharing_users', 'vars': 'anti_fraud_ip_users',
            'weight': 'anti_fraud_weight_ip', 'fraud_type': 'device_farm', 'factor': '1'},
        {'name': 'fast_completion', 'value': 'fast_completion_share', 'vars': 'anti_fraud_fast_share',
            'weight': 'anti_fraud_weight_fast_completion', 'fraud_type': 'bot',
            'factor': 'case when fast_completions >= ' ~ var('anti_fraud_fast_min_completions') ~ ' then 1 else 0 end'},
        {'name': 'velocity', 'value': 'completions_per_active_day', 'vars': 'anti_fraud_velocity',
            'weight': 'anti_fraud_weight_velocity', 'fraud_type': 'velocity', 'factor': '1'},
        {'name': 'chargeback', 'value': 'matured_chargeback_rate', 'vars': 'anti_fraud_chargeback_rate',
            'weight': 'anti_fraud_weight_chargeback', 'fraud_type': 'chargeback_abuser',
            'factor': 'least(reversed_completions * 1.0 / ' ~ var('anti_fraud_chargeback_min_reversed') ~ ', 1)'},
        {'name': 'country', 'value': 'distinct_countries', 'vars': 'anti_fraud_countries',
            'weight': 'anti_fraud_weight_country', 'fraud_type': 'country_hopper', 'factor': '1'},
        {'name': 'rejection', 'value': 'rejection_rate', 'vars': 'anti_fraud_rejection_rate',
            'weight': 'anti_fraud_weight_rejection', 'fraud_type': 'other',
            'factor': 'case when rejected_completions >= ' ~ var('anti_fraud_rejection_min_rejected') ~ ' then 1 else 0 end'},
        {'name': 'payout_concentration', 'value': 'top_offer_payout_share', 'vars': 'anti_fraud_payout_concentration',
            'weight': 'anti_fraud_weight_payout_concentration', 'fraud_type': 'other',
            'factor': 'case when completions >= ' ~ var('anti_fraud_payout_concentration_min_completions') ~ ' then 1 else 0 end'},
    ] -%}
    {%- for signal in signals -%}
        {%- set low = var(signal.vars ~ '_low') -%}
        {%- set high = var(signal.vars ~ '_high') -%}
        {%- do signal.update({'low': low, 'high': high, 'ramp': 'round(least(greatest((coalesce(' ~ signal.value ~ ', 0) - ' ~ low ~ ') * 1.0 / ('
            ~ high ~ ' - ' ~ low ~ '), 0), 1), 6)'}) -%}
    {%- endfor -%}
    {{ return(signals) }}
{%- endmacro %}
