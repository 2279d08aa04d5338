{#
    disposition_ctes(relation, entity_key, version_columns, own_rules, parent_rules=[]):
    the CTEs that give every raw row its `reason` and `disposition` in a base model. Emits
    `own_checked`, `conflict_checked`, `reasoned` and `dispositioned` (select from the last).

    - relation: the CTE holding the cleaned rows, with a `row_fingerprint` column (content);
    - entity_key: the column(s) naming the entity (e.g. 'completion_id');
    - version_columns: columns ordering versions, latest first (e.g. ['updated_at', 'loaded_at']);
    - own_rules: [reason, condition] pairs about the row itself (see first_failed_rule);
    - parent_rules: [reason, condition] pairs about a parent row, checked last.

    Reason order: a row's own defects; then `conflicting_duplicate` (two rows of the same
    entity and version that both pass their own checks but differ in content: no way to tell
    the true one, both are quarantined); then the parent rules.
    Disposition: `quarantined` when there is a reason; `staged` for the latest version of the
    entity (a clean copy preferred to a bad copy of the same version); else `superseded`.
    An entity whose latest version is bad has no staged row: older versions are not promoted.
    unordered_reasons: reasons whose timestamps cannot be trusted (e.g. `updated_in_future`):
    such a row is quarantined and never counts as the latest version, so it cannot freeze its
    entity (a later real version still wins; the previous clean version stays staged).
    `copy_number` numbers identical copies, so each raw row gets its own raw_row_key; copy 1
    is the one staged, so a rebuild gives the same rows (identical copies are interchangeable).
#}
{% macro disposition_ctes(relation, entity_key, version_columns, own_rules, parent_rules=[], unordered_reasons=[]) -%}
    {%- set version_partition = entity_key ~ ', ' ~ (version_columns | join(', ')) -%}
own_checked as (
    select
        *,
        {{ first_failed_rule(own_rules) }} as own_reason
    from {{ relation }}
),

conflict_checked as (
    select
        *,
        own_reason is null
        and min(case when own_reason is null then row_fingerprint end)
            over (partition by {{ version_partition }})
        <> max(case when own_reason is null then row_fingerprint end)
            over (partition by {{ version_partition }}) as is_conflicting
    from own_checked
),

reasoned as (
    select
        *,
        coalesce(
            own_reason,
            {{ first_failed_rule([['conflicting_duplicate', 'is_conflicting']] + parent_rules) }}
        ) as reason,
        row_number() over (
            partition by {{ version_partition }}, row_fingerprint
            order by row_fingerprint
        ) as copy_number
    from conflict_checked
),

dispositioned as (
    select
        *,
        case
            when reason is not null then 'quarantined'
            when row_number() over (
                partition by {{ entity_key }}
                order by
                    {% if unordered_reasons -%}
                    case when reason in ('{{ unordered_reasons | join("', '") }}') then 1 else 0 end,
                    {% endif -%}
                    {% for column in version_columns -%}
                    {{ column }} desc,
                    {% endfor -%}
                    case when reason is null then 0 else 1 end,
                    row_fingerprint,
                    copy_number
            ) = 1 then 'staged'
            else 'superseded'
        end as disposition
    from reasoned
)
{%- endmacro %}
