{#
    fraud_model_features(): the per-user features the anomaly score and the learned model read,
    one list for both (and for the mart's columns): name and family (behaviour, from
    int_user_behaviour_features; graph, from int_fraud_graph_component_features).
    Python's `offerwall.fraud_model.FEATURES` must name the same columns (a test checks it).
#}
{% macro fraud_model_features() -%}
    {{ return([
        {'name': 'completions_per_active_day', 'family': 'behaviour'},
        {'name': 'peak_day_share', 'family': 'behaviour'},
        {'name': 'distinct_devices', 'family': 'behaviour'},
        {'name': 'networks_per_completion', 'family': 'behaviour'},
        {'name': 'distinct_countries', 'family': 'behaviour'},
        {'name': 'completions_per_offer', 'family': 'behaviour'},
        {'name': 'valuable_share', 'family': 'behaviour'},
        {'name': 'avg_speed_ratio', 'family': 'behaviour'},
        {'name': 'speed_ratio_cv', 'family': 'behaviour'},
        {'name': 'reversal_rate', 'family': 'behaviour'},
        {'name': 'rejection_rate', 'family': 'behaviour'},
        {'name': 'days_to_first_completion', 'family': 'behaviour'},
        {'name': 'days_active_after_first_reward', 'family': 'behaviour'},
        {'name': 'graph_degree', 'family': 'graph'},
        {'name': 'component_size', 'family': 'graph'},
        {'name': 'component_referral_links', 'family': 'graph'},
        {'name': 'component_device_links', 'family': 'graph'},
        {'name': 'component_coactivity_links', 'family': 'graph'},
        {'name': 'component_members_per_signup_day', 'family': 'graph'},
        {'name': 'component_task_overlap', 'family': 'graph'},
        {'name': 'component_days_active_after_first_reward', 'family': 'graph'},
        {'name': 'signup_cohort_size', 'family': 'graph'},
        {'name': 'user_referral_links', 'family': 'graph'},
        {'name': 'user_device_links', 'family': 'graph'},
        {'name': 'user_network_links', 'family': 'graph'},
        {'name': 'user_coactivity_links', 'family': 'graph'},
        {'name': 'user_task_overlap', 'family': 'graph'},
    ]) }}
{%- endmacro %}
