-- Point in time, on the built data: every completion's task version belongs to its task and
-- was valid at its completed_at (or is its first version, for a completion dated before the
-- task existed: is_before_task_created). Returns the completions that break it.
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

dim_offer_task_versions as (
    select * from {{ ref('dim_offer_task_versions') }}
),

checked as (
    select
        completions.completion_id,
        completions.offer_task_id,
        completions.completed_at,
        completions.is_before_task_created,
        versions.version_number,
        versions.offer_task_id as version_task_id,
        versions.valid_from,
        versions.valid_to
    from fct_task_completions as completions
    inner join dim_offer_task_versions as versions
        on completions.offer_task_version_id = versions.offer_task_version_id
),

final as (
    select *
    from checked
    where version_task_id <> offer_task_id
        or (completed_at < valid_from and not (is_before_task_created and version_number = 1))
        or completed_at >= valid_to
)

select * from final
