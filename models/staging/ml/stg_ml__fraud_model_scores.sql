-- The learned model's scores (`offerwall fraud-train`), or an empty relation of the same
-- columns when the model has not been trained yet (no source table), so the build never fails
-- for want of a model.
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

    final as (
        select
            cast(user_id as {{ dbt.type_string() }}) as user_id,
            cast(model_version as {{ dbt.type_string() }}) as model_version,
            cast(model_score as {{ type_float64() }}) as model_score,
            cast(top_features as {{ dbt.type_string() }}) as top_features,
            cast(scored_at as {{ dbt.type_timestamp() }}) as scored_at
        from fraud_model_scores
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
