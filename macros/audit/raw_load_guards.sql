{#
    Volume and completeness guards (docs/guarantees.md, guarantee 9). Before any model reads a
    new load, `audit_raw_load_profile` compares each raw table with the last good load (the
    profile a fully green build left in `<audit schema>.audit_raw_load_baseline`, written by
    the on-run-end hook) and fails the build with one line per problem, naming the table and
    the figure:
      - a raw table with 0 rows;
      - a raw table that shrank by more than var('raw_max_shrink_share') since the last good load;
      - rows changed in place: a load day (date of _loaded_at, up to the last good load's
        watermark) with as many rows as then but another content checksum (the replica only
        appends, or deletes and re-inserts an edited row with a new _loaded_at);
      - a missing day of spend: a spend_date with no row between the first and the last one,
        or the last one more than var('spend_max_lag_days') days before the completions' load.
    var('accept_raw_load') = true skips the comparison for one build (a reviewed purge/replay).
#}

{% macro raw_tables() -%}
    {{ return(['offers', 'offer_tasks', 'user_offers', 'users', 'ua_spend_daily']) }}
{%- endmacro %}


{#- The contract columns of each raw table (docs/source_system.md): what the content checksum covers.
    A column added upstream changes no checksum; a contract column dropped fails the build on
    this model, naming the column. -#}
{% macro raw_contract_columns() -%}
    {{ return({
        'offers': ['id', 'name', 'advertiser', 'provider', 'category', 'platforms', 'countries', 'status',
                   'created_at', 'updated_at', '_loaded_at'],
        'offer_tasks': ['id', 'offer_id', 'position', 'title', 'task_type', 'reward_coins', 'payout_cents',
                        'status', 'created_at', 'updated_at', '_loaded_at'],
        'user_offers': ['id', 'user_id', 'offer_id', 'offer_task_id', 'status', 'reward_coins', 'payout_cents',
                        'started_at', 'completed_at', 'updated_at', 'country', 'device_platform', 'ip_hash',
                        'device_hash', '_loaded_at'],
        'users': ['id', 'created_at', 'country', 'platform', 'acquisition_channel', 'referrer_user_id', '_loaded_at'],
        'ua_spend_daily': ['spend_date', 'channel', 'country', 'platform', 'spend_usd', '_loaded_at'],
    }) }}
{%- endmacro %}


{% macro audit_schema() -%}
    {{ return(generate_schema_name('audit', none) | trim) }}
{%- endmacro %}


{% macro audit_relation(identifier) -%}
    {{ return(api.Relation.create(database=target.database, schema=audit_schema(), identifier=identifier)) }}
{%- endmacro %}


{% macro existing_audit_relation(identifier) -%}
    {{ return(adapter.get_relation(database=target.database, schema=audit_schema(), identifier=identifier)) }}
{%- endmacro %}


{#- An integer checksum of raw rows (their contract columns), summed per load day. -#}
{% macro raw_rows_checksum(columns) -%}
    {{ return(adapter.dispatch('raw_rows_checksum', 'offerwall')(columns)) }}
{%- endmacro %}

{% macro default__raw_rows_checksum(columns) -%}
    sum(mod(farm_fingerprint(to_json_string(struct({{ columns | join(', ') }}))), 1000000007))
{%- endmacro %}

{% macro duckdb__raw_rows_checksum(columns) -%}
    cast(sum(hash({{ columns | join(', ') }}) % 1000000007) as bigint)
{%- endmacro %}

{% macro bigquery__raw_rows_checksum(columns) -%}
    {%- if is_emulator() -%}
    {{ emulator_raw_rows_checksum(columns) }}
    {%- else -%}
    sum(mod(farm_fingerprint(to_json_string(struct({{ columns | join(', ') }}))), 1000000007))
    {%- endif -%}
{%- endmacro %}


{#- One row per raw table and load day: rows, content checksum, latest _loaded_at. With
    `baseline`, only the rows loaded up to that baseline's watermark of the table. -#}
{% macro raw_load_profile_sql(baseline=none) -%}
    {%- for table in raw_tables() %}
    {%- set columns = [] -%}
    {%- for column in raw_contract_columns()[table] -%}
        {%- do columns.append('raw_rows.' ~ column) -%}
    {%- endfor %}
    select
        '{{ table }}' as table_name,
        cast(raw_rows._loaded_at as date) as load_date,
        count(*) as row_count,
        {{ raw_rows_checksum(columns) }} as content_checksum,
        max(raw_rows._loaded_at) as max_loaded_at
    from {{ source('offerwall', table) }} as raw_rows
    {%- if baseline is not none %}
    where raw_rows._loaded_at <= (select max(b.max_loaded_at) from {{ baseline }} as b where b.table_name = '{{ table }}')
    {%- endif %}
    group by 1, 2
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{% macro _fmt_int(value) -%}
    {{ return('{:,}'.format(value | int)) }}
{%- endmacro %}


{#- The list of problems of the current raw load (empty = fine). Runs queries: call at execution. -#}
{% macro raw_load_problems() -%}
    {%- set problems = [] -%}
    {%- set baseline = existing_audit_relation('audit_raw_load_baseline') -%}

    {#- totals now and at the last good load -#}
    {%- set totals_sql -%}
        {%- for table in raw_tables() %}
        select '{{ table }}' as table_name, count(*) as row_count from {{ source('offerwall', table) }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endset -%}
    {%- set now = {} -%}
    {%- for row in run_query(totals_sql) -%}
        {%- do now.update({row[0]: row[1] | int}) -%}
    {%- endfor -%}
    {%- set before = {} -%}
    {%- if baseline is not none -%}
        {%- for row in run_query('select table_name, sum(row_count) from ' ~ baseline ~ ' group by 1') -%}
            {%- do before.update({row[0]: row[1] | int}) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- set max_shrink = var('raw_max_shrink_share', 0.05) | float -%}
    {%- for table in raw_tables() -%}
        {%- set n = now.get(table, 0) -%}
        {%- set b = before.get(table) -%}
        {%- if n == 0 -%}
            {%- do problems.append('raw.' ~ table ~ ' has 0 rows' ~ (' (last good load: ' ~ _fmt_int(b) ~ ' rows)' if b else '')) -%}
        {%- elif b and n < b * (1 - max_shrink) -%}
            {%- do problems.append('raw.' ~ table ~ ' shrank to ' ~ _fmt_int(n) ~ ' rows from ' ~ _fmt_int(b)
                ~ ' at the last good load (-' ~ '%.1f' | format(100.0 * (b - n) / b) ~ '%, more than raw_max_shrink_share = '
                ~ max_shrink ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}

    {#- rows changed in place: same count on a load day, other content -#}
    {%- if baseline is not none -%}
        {%- set changed_sql -%}
            with current_profile as ({{ raw_load_profile_sql(baseline) }})
            select b.table_name, cast(b.load_date as {{ dbt.type_string() }}) as load_day, b.row_count
            from {{ baseline }} as b
            inner join current_profile as c
                on b.table_name = c.table_name
                and b.load_date = c.load_date
            where b.row_count = c.row_count
                and b.content_checksum <> c.content_checksum
            order by b.table_name, load_day
        {%- endset -%}
        {%- for row in run_query(changed_sql) -%}
            {%- do problems.append('raw.' ~ row[0] ~ ': the ' ~ _fmt_int(row[2]) ~ ' rows loaded on ' ~ row[1]
                ~ ' changed in place since the last good load (same count, other content)') -%}
        {%- endfor -%}
    {%- endif -%}

    {#- a missing day of spend (only when there is spend at all: 0 rows is reported above) -#}
    {%- if now.get('ua_spend_daily', 0) > 0 -%}
        {%- set gaps_sql -%}
            with days as (
                select distinct spend_date from {{ source('offerwall', 'ua_spend_daily') }}
                where spend_date is not null
            ),
            next_days as (
                select spend_date, lead(spend_date) over (order by spend_date) as next_date from days
            )
            select
                cast({{ dbt.dateadd('day', 1, 'spend_date') }} as date) as gap_from,
                cast({{ dbt.dateadd('day', -1, 'next_date') }} as date) as gap_to
            from next_days
            where {{ days_between('spend_date', 'next_date') }} > 1
            order by gap_from
        {%- endset -%}
        {%- for row in run_query(gaps_sql) -%}
            {%- do problems.append('raw.ua_spend_daily has no spend from ' ~ row[0] ~ ' to ' ~ row[1]
                ~ ' (a missing day of spend)') -%}
        {%- endfor -%}
        {%- set lag_sql -%}
            select
                max(s.spend_date),
                (select cast(max(_loaded_at) as date) from {{ source('offerwall', 'user_offers') }})
            from {{ source('offerwall', 'ua_spend_daily') }} as s
        {%- endset -%}
        {%- set lag = run_query(lag_sql).rows[0] -%}
        {%- if lag[0] is not none and lag[1] is not none and (lag[1] - lag[0]).days > var('spend_max_lag_days', 3) | int -%}
            {%- do problems.append('raw.ua_spend_daily: the latest spend_date ' ~ lag[0] ~ ' is ' ~ (lag[1] - lag[0]).days
                ~ ' days before the completions\' latest load (' ~ lag[1] ~ '; spend_max_lag_days = '
                ~ var('spend_max_lag_days', 3) ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(problems) }}
{%- endmacro %}


{#- Fail the build (compiler error of the calling model) when the raw load has problems. -#}
{% macro assert_raw_load_is_sane() -%}
    {%- if execute and flags.WHICH in ('build', 'run') and not var('accept_raw_load', false) -%}
        {%- set problems = raw_load_problems() -%}
        {%- if problems -%}
            {{ exceptions.raise_compiler_error(
                'Raw load rejected, nothing rebuilt or published (docs/guarantees.md, runbook):\n  - '
                ~ (problems | join('\n  - '))
                ~ '\nIf the change is intended (a reviewed purge or replay), rerun with --vars \'{accept_raw_load: true}\'.'
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
