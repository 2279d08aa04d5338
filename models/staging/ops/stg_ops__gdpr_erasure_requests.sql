-- One row per user who asked to be erased, with the surrogate id that replaces theirs
-- everywhere in the warehouse. The surrogate carries no information about the user: it is
-- the rank of the request in the erasure list (earliest request first). The requests arrive as
-- data, in the source ops.gdpr_erasure_requests (docs/privacy.md), never as a file in git.
with

gdpr_erasure_requests as (
    select * from {{ source('ops', 'gdpr_erasure_requests') }}
),

per_user as (
    select
        trim(user_id) as user_id,
        min(cast(requested_at as {{ dbt.type_timestamp() }})) as requested_at
    from gdpr_erasure_requests
    where trim(user_id) <> ''
    group by 1
),

final as (
    select
        -- ids
        user_id,
        {{ dbt.concat([
            "'" ~ var('erased_user_prefix') ~ "'",
            "cast(row_number() over (order by requested_at, user_id) as " ~ dbt.type_string() ~ ")",
        ]) }} as erased_user_id,

        -- timestamps
        requested_at
    from per_user
)

select * from final
