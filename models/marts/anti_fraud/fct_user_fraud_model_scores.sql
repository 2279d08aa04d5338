-- One row per active user (at least one completion): the three anti-fraud scores side by side
-- (the rules' risk score from fct_user_fraud_signals, the label-free anomaly score, the learned
-- model's probability), the model's top contributing features for a reviewer, the user's
-- account-graph component and every model feature (what `offerwall fraud-train` reads).
-- The model columns are NULL (model_risk_tier 'not_scored') until the model is trained.
{%- set features = fraud_model_features() %}
{%- set counts = ['distinct_devices', 'distinct_countries', 'graph_degree', 'component_size',
    'component_referral_links', 'component_device_links', 'component_coactivity_links', 'signup_cohort_size',
    'user_referral_links', 'user_device_links', 'user_network_links', 'user_coactivity_links'] %}

with

fct_user_fraud_signals as (
    select * from {{ ref('fct_user_fraud_signals') }}
),

int_user_behaviour_features as (
    select * from {{ ref('int_user_behaviour_features') }}
),

int_fraud_graph_component_features as (
    select * from {{ ref('int_fraud_graph_component_features') }}
),

int_user_anomaly_scores as (
    select * from {{ ref('int_user_anomaly_scores') }}
),

stg_ml__fraud_model_scores as (
    select * from {{ ref('stg_ml__fraud_model_scores') }}
),

final as (
    select
        -- ids
        signals.user_id,
        graph.component_id,
        -- the rules
        signals.risk_score as rules_risk_score,
        signals.risk_tier as rules_risk_tier,
        signals.suspected_fraud_type as rules_suspected_fraud_type,
        -- the anomaly score
        cast(anomaly.anomaly_score as {{ type_float64() }}) as anomaly_score,
        anomaly.anomaly_top_feature,
        -- the learned model
        model_scores.model_score,
        case
            when model_scores.model_score is null then 'not_scored'
            when model_scores.model_score >= {{ var('fraud_model_high_tier_min_score') }} then 'high'
            when model_scores.model_score >= {{ var('fraud_model_medium_tier_min_score') }} then 'medium'
            else 'low'
        end as model_risk_tier,
        model_scores.model_version,
        -- features
        {% for feature in features -%}
            {%- set type = dbt.type_bigint() if feature.name in counts else type_float64() %}
            cast({{ feature.family }}.{{ feature.name }} as {{ type }}) as {{ feature.name }},
        {% endfor -%}
        model_scores.top_features as model_top_features
    from fct_user_fraud_signals as signals
    inner join int_user_behaviour_features as behaviour
        on signals.user_id = behaviour.user_id
    inner join int_fraud_graph_component_features as graph
        on signals.user_id = graph.user_id
    inner join int_user_anomaly_scores as anomaly
        on signals.user_id = anomaly.user_id
    left join stg_ml__fraud_model_scores as model_scores
        on signals.user_id = model_scores.user_id
)

select * from final
