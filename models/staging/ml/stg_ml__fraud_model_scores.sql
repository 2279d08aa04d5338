-- The learned model's scores (`offerwall fraud-train`), or an empty relation of the same
-- columns when the model has not been trained yet (no source table), so the build never fails
-- for want of a model. GDPR: scores written before a user's erasure carry the user's surrogate
-- id here (the next `offerwall fraud-train` rewrites the table from the erased marts).
-- depends_on: {{ ref('stg_ops__gdpr_erasure_requests') }}
{%- set scores = source('ml', 'fraud_model_scores') %}
{#- The offline compile (var assume_incremental, no connection) compiles the trained branch. #}
{%- if var('assume_incremental', false) %}
    {%- set trained = true %}
{%- elif execute %}
    {%- set trained = adapter.get_relation(
        database=scores.database, schema=scores.schema, identifier=scores.identifier
    ) is not none %}
{%- else %}
    {%- set trained = false %}
{%- endif %}

{% if trained %}
    with

    fraud_model_scores as (
        select * from {{ scores }}
    ),

    stg_ops__gdpr_erasure_requests as (
        select * from {{ ref('stg_ops__gdpr_erasure_requests') }}
    ),

    final as (
        select
            coalesce(
                erasure.erased_user_id, cast(fraud_model_scores.user_id as {{ dbt.type_string() }})
            ) as user_id,
            cast(fraud_model_scores.model_version as {{ dbt.type_string() }}) as model_version,
            cast(fraud_model_scores.model_score as {{ type_float64() }}) as model_score,
            cast(fraud_model_scores.top_features as {{ dbt.type_string() }}) as top_features,
            cast(fraud_model_scores.scored_at as {{ dbt.type_timestamp() }}) as scored_at
        from fraud_model_scores
        left join stg_ops__gdpr_erasure_requests as erasure
            on cast(fraud_model_scores.user_id as {{ dbt.type_string() }}) = erasure.user_id
    )
{% else %}
    with

    final as (
        select
            cast(null as {{ dbt.type_string() }}) as user_id,
            cast(null as {{ dbt.type_string() }}) as model_version,
            cast(null as {{ type_float64() }}) as model_score,
            cast(null as {{ dbt.type_string() }}) as top_features,
            cast(null as {{ dbt.type_timestamp() }}) as scored_at
        from (select 1 as no_model_yet) as no_rows
        where false
    )
{% endif %}

select * from final
