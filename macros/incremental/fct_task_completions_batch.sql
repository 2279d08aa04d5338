{#
    fct_task_completions_batch_ctes(completions, task_versions): on an incremental run, the
    CTEs that pick the completions to (re)write into fct_task_completions; the model selects
    from `completions_batch`. A completion is in the batch when
      1. its latest version was replicated after the fact's watermark (max loaded_at in the
         fact) minus var('incremental_lookback_hours') for replication lag: every status change
         (pending -> credited -> reversed, however late: a chargeback 90+ days after the
         completion arrives as a new replicated version) lands this way;
      2. or the task version the fact joined it to is no longer valid at its completed_at:
         the snapshot captured a newer version of the task valid from before the completion
         (an edit that reached the warehouse late), so the point-in-time join is redone. Checked
         against the fact itself, not by timestamps, so a backdated replica row is caught too;
      3. or its user is GDPR-erased (user id starts with var('erased_user_prefix')): the few
         erased users' rows are rewritten on every run, so an erasure added to the seed reaches
         the fact on the next build, whatever the rows' age;
      4. or it is not in the fact yet (e.g. a row that was quarantined and is now clean);
      5. or the fact has it with is_parent_inferred (its task or offer had no clean version):
         the few such rows are re-joined on every run, so they link to the parent's first
         clean version as soon as it exists. A fact built before the flag existed is rewritten
         whole once (on_schema_change appends the column).
    With unique_key completion_id the batch replaces the fact's rows; completions that left
    staging are deleted by fct_task_completions_delete_orphans (post-hook). Result: the
    incremental fact equals a full refresh.
#}
{% macro fct_task_completions_batch_ctes(completions, task_versions) -%}
{%- set has_flag = true -%}
{%- if execute and this is not string and not var('assume_incremental', false) -%}
    {%- set has_flag = 'is_parent_inferred' in (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list) -%}
{%- endif -%}
watermark as (
    select max(loaded_at) - interval {{ var('incremental_lookback_hours') }} hour as loaded_after
    from {{ this }}
),

stale_version_joins as (
    select fact.completion_id
    from {{ this }} as fact
    inner join {{ task_versions }} as task_versions
        on fact.offer_task_version_id = task_versions.offer_task_version_id
    where task_versions.valid_to <= fact.completed_at
),

completions_batch as (
    select completions.*
    from {{ completions }} as completions
    cross join watermark
    where completions.loaded_at > watermark.loaded_after
        or completions.completion_id in (select stale.completion_id from stale_version_joins as stale)
        or starts_with(completions.user_id, '{{ var("erased_user_prefix") }}')
        or completions.completion_id not in (select fact.completion_id from {{ this }} as fact)
        {%- if has_flag %}
        or completions.completion_id in (select fact.completion_id from {{ this }} as fact where fact.is_parent_inferred)
        {%- else %}
        or true
        {%- endif %}
)
{%- endmacro %}


{#
    fct_task_completions_delete_orphans(): post-hook of fct_task_completions. On an
    incremental run, deletes the fact's completions that are no longer in
    int_task_completions_versioned (their latest version went to quarantine), so the
    incremental fact always equals a full refresh. Nothing to do on a full refresh.
#}
{% macro fct_task_completions_delete_orphans() -%}
    {%- if is_incremental_run() -%}
        {%- set staged = ref('int_task_completions_versioned') -%}
        {{ delete_where(this, 'completion_id',
            'completion_id not in (select completion_id from ' ~ staged ~ ')') }}
    {%- endif -%}
{%- endmacro %}
