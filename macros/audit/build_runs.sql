{#
    The run log of published builds: `ops.build_runs` (schema var ops_schema), one row per
    build that publish_marts published, appended after the marts were copied (a refused or
    failed publish, hence a failed build, writes no row). Append-only: never updated or deleted.

    Columns:
      run_id           the published build's dbt invocation_id (as in audit_build_log)
      publish_id       the invocation_id of the `dbt run-operation publish_marts` that published it
      published_at     when the marts were published (UTC)
      run_by           who/what ran it: env OFFERWALL_RUN_BY (the scheduler sets e.g.
                       `dagster:daily_build`, CI `github:<workflow>`), else the OS user ($USER /
                       $LOGNAME), else 'unknown'
      git_commit       the project's commit: env OFFERWALL_GIT_COMMIT (`make run` and the scheduler
                       set it from `git rev-parse HEAD`), else $GITHUB_SHA (CI), else 'unknown'.
                       dbt's Jinja cannot run git or read .git, so the caller passes it.
      target_name      the dbt target (dev, prod, ...)
      dbt_version      dbt-core's version
      marts            how many marts were published
      total_rows       the published marts' rows, summed
      mart_row_counts  JSON object text {"<mart>": <rows>, ...} over every published mart (one
                       row per build; read with json_extract (DuckDB) / JSON_VALUE (BigQuery))
    env values are reduced to [A-Za-z0-9@._:/+ -] (at most 200 characters) before they reach SQL.
#}
{% macro build_runs_relation() -%}
    {{ return(api.Relation.create(
        database=target.database, schema=var('ops_schema', 'ops'), identifier='build_runs', type='table'
    )) }}
{%- endmacro %}


{% macro build_runs_columns() -%}
    {{ return([
        ('run_id', dbt.type_string()),
        ('publish_id', dbt.type_string()),
        ('published_at', dbt.type_timestamp()),
        ('run_by', dbt.type_string()),
        ('git_commit', dbt.type_string()),
        ('target_name', dbt.type_string()),
        ('dbt_version', dbt.type_string()),
        ('marts', dbt.type_bigint()),
        ('total_rows', dbt.type_bigint()),
        ('mart_row_counts', dbt.type_string()),
    ]) }}
{%- endmacro %}


{#- An environment value made safe for a SQL string literal on every engine. -#}
{% macro run_log_value(names, default='unknown') -%}
    {%- for name in names -%}
        {%- set value = env_var(name, '') | trim -%}
        {%- if value -%}
            {{ return(modules.re.sub('[^A-Za-z0-9@._:/+ -]', '_', value)[:200]) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(default) }}
{%- endmacro %}


{#- pairs: [node, private relation, published relation] of each published mart (publish_marts). -#}
{% macro record_build_run(run_id, pairs) -%}
    {%- set run_log = build_runs_relation() -%}
    {%- do adapter.create_schema(run_log) -%}
    {%- set columns = build_runs_columns() -%}
    {%- do run_query(
        'create table if not exists ' ~ run_log ~ ' ('
        ~ (columns | map('join', ' ') | join(', ')) ~ ')'
    ) -%}
    {%- set counts = {} -%}
    {%- if pairs -%}
        {%- set parts = [] -%}
        {%- for pair in pairs -%}
            {%- do parts.append("select '" ~ pair[0].name ~ "' as mart, count(*) as n from " ~ pair[2]) -%}
        {%- endfor -%}
        {%- for row in run_query(parts | join(' union all ')).rows -%}
            {%- do counts.update({row[0]: row[1] | int}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set names = counts.keys() | sort -%}
    {%- set entries = [] -%}
    {%- for name in names -%}
        {%- do entries.append('"' ~ name ~ '": ' ~ counts[name]) -%}
    {%- endfor -%}
    {%- set total = counts.values() | sum -%}
    {%- do run_query(
        'insert into ' ~ run_log ~ ' (' ~ (columns | map(attribute=0) | join(', ')) ~ ') values ('
        ~ "'" ~ run_id ~ "', '" ~ invocation_id ~ "', " ~ dbt.current_timestamp() ~ ", "
        ~ "'" ~ run_log_value(['OFFERWALL_RUN_BY', 'USER', 'LOGNAME']) ~ "', "
        ~ "'" ~ run_log_value(['OFFERWALL_GIT_COMMIT', 'GITHUB_SHA']) ~ "', "
        ~ "'" ~ target.name ~ "', '" ~ dbt_version ~ "', "
        ~ (names | length) ~ ', ' ~ total ~ ", '{" ~ (entries | join(', ')) ~ "}')"
    ) -%}
    {{ log('Run log ' ~ run_log ~ ': build ' ~ run_id ~ ', ' ~ (names | length) ~ ' marts, ' ~ total ~ ' rows', info=true) }}
{%- endmacro %}
