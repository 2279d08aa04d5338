{#
    publish_marts(): the "publish" of write-audit-publish (docs/guarantees.md, guarantee 9).

        dbt build --vars '{wap: true}' && dbt run-operation publish_marts --vars '{wap: true}'

    With var `wap` the build writes every mart to a private schema (`<target.schema>_wap_marts_<team>`,
    prod: `wap_marts_<team>`, see generate_schema_name). Once that build passed, this copies
    each mart (every table/incremental model under models/marts, from the graph, never listed)
    to the schema analysts read (`<target.schema>_marts_<team>` / `marts_<team>`):
      - DuckDB: `create or replace table <published> as select * from <private>` for all
        marts inside one transaction: readers see all the old marts or all the new ones.
      - BigQuery: `create or replace table <published> copy <private>` per mart (a copy job:
        no bytes scanned, no query cost; partitioning and clustering kept), then the table
        grants of the mart's folder. BigQuery has no multi-table DDL transaction: each mart
        switches atomically, the set within seconds (docs/bigquery.md).
    Refused (an error, nothing copied) unless the latest build in audit_build_log was a
    complete write-audit-publish build (raw load profile and every mart) that finished green: a failed or killed build never reaches
    the analysts, however the scheduler treats exit codes. A published build appends one row to
    the run log ops.build_runs (who/what ran it, the commit, row counts per mart; build_runs.sql).
#}
{% macro publish_marts() -%}
    {%- if not var('wap', false) -%}
        {{ exceptions.raise_compiler_error("publish_marts needs --vars '{wap: true}' (the private marts it publishes)") }}
    {%- endif -%}

    {#- the gate: the latest daily build passed -#}
    {%- set build_log = existing_audit_relation('audit_build_log') -%}
    {%- if build_log is none -%}
        {{ exceptions.raise_compiler_error('Marts not published: no daily build has run (no ' ~ audit_relation('audit_build_log') ~ ').') }}
    {%- endif -%}
    {%- set latest = run_query(
        'select started.invocation_id, cast(started.logged_at as ' ~ dbt.type_string() ~ '), started.is_wap,'
        ~ ' finished.succeeded, started.is_complete, finished.invocation_id is not null'
        ~ ' from (select * from ' ~ build_log ~ " where event = 'started' order by logged_at desc limit 1) as started"
        ~ ' left join ' ~ build_log ~ ' as finished on finished.invocation_id = started.invocation_id'
        ~ " and finished.event = 'finished'"
    ).rows -%}
    {%- if latest | length == 0 -%}
        {{ exceptions.raise_compiler_error('Marts not published: no daily build in ' ~ build_log ~ '.') }}
    {%- endif -%}
    {%- set row = latest[0] -%}
    {%- if not row[2] -%}
        {{ exceptions.raise_compiler_error('Marts not published: the latest build (' ~ row[0] ~ ', started ' ~ row[1] ~ ') did not run with wap: true.') }}
    {%- elif not row[4] -%}
        {{ exceptions.raise_compiler_error('Marts not published: the latest build (' ~ row[0] ~ ', started ' ~ row[1] ~ ') did not build every mart and the raw load profile (a partial build; run the daily build).') }}
    {%- elif not row[5] -%}
        {{ exceptions.raise_compiler_error('Marts not published: the latest build (' ~ row[0] ~ ', started ' ~ row[1] ~ ') never finished (killed?).') }}
    {%- elif not row[3] -%}
        {{ exceptions.raise_compiler_error('Marts not published: the latest build (' ~ row[0] ~ ', started ' ~ row[1] ~ ') failed; the published marts keep their last good numbers.') }}
    {%- endif -%}

    {#- the marts, from the graph -#}
    {%- set marts = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.original_file_path.startswith('models/marts/')
            and node.config.materialized in ('table', 'incremental') -%}
            {%- do marts.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set marts = marts | sort(attribute='name') -%}

    {%- set pairs = [] -%}
    {%- for node in marts -%}
        {%- set private = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias or node.name) -%}
        {%- if private is none -%}
            {{ exceptions.raise_compiler_error('Marts not published: ' ~ node.name ~ ' was never built in ' ~ node.schema ~ '.') }}
        {%- endif -%}
        {%- set published_schema = published_schema_name(node.config.schema) -%}
        {%- set published = api.Relation.create(database=node.database, schema=published_schema, identifier=node.alias or node.name, type='table') -%}
        {%- do pairs.append([node, private, published]) -%}
    {%- endfor -%}
    {%- do adapter.dispatch('publish_relations', 'offerwall')(pairs) -%}
    {#- the run log (ops.build_runs): one row per published build, after the marts switched -#}
    {%- do record_build_run(row[0], pairs) -%}
    {{ log('Published ' ~ (pairs | length) ~ ' marts from build ' ~ row[0] ~ ': '
        ~ (pairs | map(attribute=2) | map('string') | join(', ')), info=true) }}
{%- endmacro %}


{#- The schema a mart folder publishes to: generate_schema_name without the wap switch. -#}
{% macro published_schema_name(custom_schema_name) -%}
    {%- if target.name in var('production_targets', ['prod']) -%}
        {{ return(custom_schema_name | trim) }}
    {%- else -%}
        {{ return(target.schema ~ '_' ~ (custom_schema_name | trim)) }}
    {%- endif -%}
{%- endmacro %}


{% macro default__publish_relations(pairs) -%}
    {%- set statements = [] -%}
    {%- for pair in pairs -%}
        {%- do adapter.create_schema(pair[2]) -%}
        {%- do statements.append('create or replace table ' ~ pair[2] ~ ' as select * from ' ~ pair[1]) -%}
    {%- endfor -%}
    {%- do run_query('begin transaction; ' ~ (statements | join('; ')) ~ '; commit;') -%}
{%- endmacro %}


{% macro bigquery__publish_relations(pairs) -%}
    {%- for pair in pairs -%}
        {%- do adapter.create_schema(pair[2]) -%}
        {%- if is_emulator() -%}
            {%- do run_query(emulator_publish_copy(pair[1], pair[2])) -%}
        {%- else -%}
            {%- do run_query('create or replace table ' ~ pair[2] ~ ' copy ' ~ pair[1]) -%}
            {%- set grants = pair[0].config.grants -%}
            {%- if grants -%}
                {%- do apply_grants(pair[2], grants, should_revoke=false) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
