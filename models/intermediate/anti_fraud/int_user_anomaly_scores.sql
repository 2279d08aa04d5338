-- One row per user with at least one completion: an anomaly score that needs no labels. Each
-- feature of fraud_model_features() becomes a robust z-score against the whole population:
-- |value - median| / (1.4826 x MAD), the MAD replaced by 1.2533 x the mean absolute deviation
-- when more than half the users share one value (MAD = 0), capped at `fraud_anomaly_z_cap`.
-- anomaly_score = 100 x the root mean square of the capped z-scores / the cap (0-100);
-- anomaly_top_feature names the feature furthest from the population (NULL when none is off;
-- a missing feature value counts as typical, z = 0, before least(): DuckDB's least() skips NULLs,
-- BigQuery's returns NULL). Features are rounded to 6 decimals first: an average's last bits
-- depend on the order the engine sums in (threads, an incremental vs a full build), and when
-- nearly every user shares a value, a spread made of that noise alone would turn it into
-- capped z-scores; rounded, equal values are equal and a spread is 0 or real.
{%- set features = fraud_model_features() %}
{%- set cap = var('fraud_anomaly_z_cap') %}
{{ config(materialized='table') }}

with

int_user_behaviour_features as (
    select * from {{ ref('int_user_behaviour_features') }}
),

int_fraud_graph_component_features as (
    select * from {{ ref('int_fraud_graph_component_features') }}
),

features as (
    select
        {% for feature in features -%}
            round(cast({{ feature.family }}.{{ feature.name }} as {{ type_float64() }}), 6) as {{ feature.name }},
        {% endfor -%}
        'all' as population,
        behaviour.user_id
    from int_user_behaviour_features as behaviour
    inner join int_fraud_graph_component_features as graph
        on behaviour.user_id = graph.user_id
),

medians as (
    select
        {% for feature in features -%}
            {{ median_over(feature.name, 'population') }} as {{ feature.name }}__median,
        {% endfor -%}
        *
    from features
),

spreads as (
    select
        {% for feature in features -%}
            {{ median_over('abs(' ~ feature.name ~ ' - ' ~ feature.name ~ '__median)', 'population') }}
                as {{ feature.name }}__mad,
            avg(abs({{ feature.name }} - {{ feature.name }}__median)) over (partition by population)
                as {{ feature.name }}__mean_abs_dev,
        {% endfor -%}
        *
    from medians
),

-- a missing value counts as typical (z = 0) before least(): DuckDB's least() skips NULLs,
-- BigQuery's returns NULL
z_scores as (
    select
        {% for feature in features -%}
            least(
                coalesce(
                    abs({{ feature.name }} - {{ feature.name }}__median) / coalesce(
                        nullif(1.4826 * {{ feature.name }}__mad, 0),
                        nullif(1.2533 * {{ feature.name }}__mean_abs_dev, 0),
                        1
                    ),
                    0
                ),
                {{ cap }}
            ) as {{ feature.name }}__z,
        {% endfor -%}
        user_id
    from spreads
),

top as (
    select
        *,
        greatest(
            {% for feature in features -%}
                {{ feature.name }}__z,
            {% endfor -%}
            0
        ) as anomaly_top_z
    from z_scores
),

final as (
    select
        user_id,
        round(
            100 * sqrt((
                0
                {% for feature in features -%}
                    + {{ feature.name }}__z * {{ feature.name }}__z
                {% endfor -%}
            ) / {{ features | length }}) / {{ cap }},
            3
        ) as anomaly_score,
        case
            {% for feature in features -%}
                when anomaly_top_z > 0 and {{ feature.name }}__z = anomaly_top_z then '{{ feature.name }}'
            {% endfor -%}
        end as anomaly_top_feature,
        anomaly_top_z
    from top
)

select * from final
