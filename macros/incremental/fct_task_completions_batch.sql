{#
    fct_task_completions_batch_filter(): on an incremental run, the completions to (re)write
    into fct_task_completions. A completion is in the batch when
      1. its latest version was replicated after the fact's watermark, minus
         var('incremental_lookback_hours') for replication lag: every status change
         (pending -> credited -> reversed, however late: a chargeback 90+ days after the
         completion still arrives as a new replicated version) lands this way;
      2. or its user is GDPR-erased (user id starts with var('erased_user_prefix')): the few
         erased users' rows are rewritten on every run, so an erasure added to the seed reaches
         the incremental fact on the next build, whatever the rows' age;
      3. or it is not in the fact yet (e.g. a row that was quarantined and became clean).
    With unique_key completion_id, the batch replaces the fact's rows; completions that left
    staging are removed by fct_task_completions_delete_orphans (post-hook).
#}
{% macro fct_task_completions_batch_filter() -%}
    loaded_at > (
        select max(loaded_at) - interval {{ var('incremental_lookback_hours') }} hour
        from {{ this }}
    )
    or starts_with(user_id, '{{ var("erased_user_prefix") }}')
    or completion_id not in (select completion_id from {{ this }})
{%- endmacro %}


{#
    fct_task_completions_delete_orphans(): post-hook of fct_task_completions. On an
    incremental run, deletes the fact's completions that are no longer in
    int_task_completions_versioned (their latest version went to quarantine), so the
    incremental fact always equals a full refresh. Nothing to do on a full refresh.
#}
{% macro fct_task_completions_delete_orphans() -%}
    {%- if is_incremental_run() -%}
        delete from {{ this }}
        where completion_id not in (
            select completion_id from {{ ref('int_task_completions_versioned') }}
        )
    {%- endif -%}
{%- endmacro %}
