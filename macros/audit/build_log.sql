{#
    The audit trail of daily builds, in the audit schema (`<target.schema>_audit` / `audit`):
      - audit_build_log: per `dbt build`/`run`/`snapshot`/`seed`, a `started` row
        (on-run-start) and a `finished` row with `succeeded` (on-run-end), append-only;
        `is_complete` when it selected the raw load profile and every mart (the daily build).
        A killed build has no `finished` row. publish_marts publishes only after a complete, green wap build that
        is the latest logged one (a later partial build of a private mart blocks it).
      - audit_raw_load_baseline: the raw load profile of the last complete, green build, what the
        volume guards compare the next load with (raw_load_guards.sql).
      - audit_quarantine_share_history: the quarantine share of each raw table at each green
        build, the trailing baseline of the test quarantine_share_jump.
    Failed builds never update the baseline nor the history, so a bad load is judged against
    the last good one however many times it is retried.
#}

{#- Every dbt command that writes models is logged; a "complete" one selected the raw load
    profile and every mart (the daily build). -#}
{% macro is_logged_build() -%}
    {{ return(execute and flags.WHICH in ('build', 'run', 'snapshot', 'seed')) }}
{%- endmacro %}


{% macro is_complete_build() -%}
    {%- if 'model.offerwall.audit_raw_load_profile' not in selected_resources -%}
        {{ return(false) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.original_file_path.startswith('models/marts/')
            and node.unique_id not in selected_resources -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}


{% macro audit_on_run_start() -%}
    {%- if is_logged_build() -%}
        {%- set log = audit_relation('audit_build_log') -%}
        {%- do adapter.create_schema(log) -%}
        {%- do run_query(
            'create table if not exists ' ~ log ~ ' ('
            ~ 'invocation_id ' ~ dbt.type_string()
            ~ ', logged_at ' ~ dbt.type_timestamp()
            ~ ', event ' ~ dbt.type_string()
            ~ ', is_wap ' ~ dbt.type_boolean()
            ~ ', is_complete ' ~ dbt.type_boolean()
            ~ ', succeeded ' ~ dbt.type_boolean() ~ ')'
        ) -%}
        {%- do log_build_event('started', 'null') -%}
    {%- endif -%}
    select 1 as audit_on_run_start
{%- endmacro %}


{#- Append-only (no UPDATE): one `started` and one `finished` row per invocation. -#}
{% macro log_build_event(event, succeeded) -%}
    {%- do run_query(
        'insert into ' ~ audit_relation('audit_build_log')
        ~ ' (invocation_id, logged_at, event, is_wap, is_complete, succeeded) values ('
        ~ "'" ~ invocation_id ~ "', " ~ dbt.current_timestamp() ~ ", '" ~ event ~ "', "
        ~ ('true' if var('wap', false) else 'false') ~ ', '
        ~ ('true' if is_complete_build() else 'false') ~ ', ' ~ succeeded ~ ')'
    ) -%}
{%- endmacro %}


{% macro audit_on_run_end(results) -%}
    {%- if is_logged_build() -%}
        {%- set failed = [] -%}
        {%- for result in results -%}
            {%- if result.status not in ('success', 'pass', 'warn', 'no-op') -%}
                {%- do failed.append(result.node.unique_id ~ ' (' ~ result.status ~ ')') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set ok = failed | length == 0 -%}
        {%- if not ok -%}
            {{ log('Build not publishable, failed or skipped: ' ~ (failed[:10] | join(', ')) ~ (' ...' if failed | length > 10 else ''), info=true) }}
        {%- endif -%}
        {%- if ok and is_complete_build() -%}
            {%- set baseline = audit_relation('audit_raw_load_baseline') -%}
            {%- do run_query(
                'create or replace table ' ~ baseline ~ ' as select * from ' ~ audit_relation('audit_raw_load_profile')
            ) -%}
            {%- do record_quarantine_shares() -%}
        {%- endif -%}
        {%- do log_build_event('finished', 'true' if ok else 'false') -%}
    {%- endif -%}
    select 1 as audit_on_run_end
{%- endmacro %}


{% macro record_quarantine_shares() -%}
    {%- set history = audit_relation('audit_quarantine_share_history') -%}
    {%- do run_query(
        'create table if not exists ' ~ history ~ ' ('
        ~ 'invocation_id ' ~ dbt.type_string()
        ~ ', recorded_at ' ~ dbt.type_timestamp()
        ~ ', table_name ' ~ dbt.type_string()
        ~ ', quarantined_rows ' ~ dbt.type_bigint()
        ~ ', raw_rows ' ~ dbt.type_bigint() ~ ')'
    ) -%}
    {%- set parts = [] -%}
    {%- for table in raw_tables() -%}
        {%- do parts.append(
            "select '" ~ invocation_id ~ "', " ~ dbt.current_timestamp() ~ ", '" ~ table ~ "', "
            ~ '(select count(*) from ' ~ graph_relation('model.offerwall.stg_offerwall__' ~ table ~ '_quarantine') ~ '), '
            ~ '(select count(*) from ' ~ graph_relation('source.offerwall.offerwall.' ~ table) ~ ')'
        ) -%}
    {%- endfor -%}
    {%- do run_query('insert into ' ~ history ~ ' ' ~ (parts | join(' union all '))) -%}
{%- endmacro %}


{#- The relation of a model or source, from the graph (hooks cannot call ref()/source()
    conditionally). -#}
{% macro graph_relation(unique_id) -%}
    {%- set node = graph.sources[unique_id] if unique_id.startswith('source.') else graph.nodes[unique_id] -%}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema,
        identifier=(node.identifier if unique_id.startswith('source.') else (node.alias or node.name)))) }}
{%- endmacro %}
