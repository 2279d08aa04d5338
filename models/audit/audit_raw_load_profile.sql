-- One row per raw table and load day (date of _loaded_at): rows, a content checksum and the
-- latest _loaded_at. Built first in every daily build: before it is written, the volume and
-- completeness guards (macros/audit/raw_load_guards.sql) compare the raw load with the last
-- good one and fail the build with one line per problem; every base model depends on this
-- model, so a rejected load rebuilds nothing and publishes nothing.
{{ assert_raw_load_is_sane() }}
with

profile as (
    {{ raw_load_profile_sql() }}
),

final as (
    select
        -- grain
        table_name,
        load_date,

        -- measures
        row_count,
        content_checksum,

        -- timestamps
        max_loaded_at
    from profile
)

select * from final
