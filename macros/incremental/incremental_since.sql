{#
    incremental_since(column='loaded_at'): on an incremental run, the timestamp literal from
    which raw rows are read again: the latest `column` in the model's own table ({{ this }})
    minus var('incremental_lookback_hours') (replication lag). Read once, when the model is
    compiled, and written into the SQL as a constant (`timestamp '2026-03-01 04:00:00'`), so
    BigQuery prunes the raw table's `_loaded_at` day partitions (a filter on a subquery would
    scan them all) and DuckDB skips row groups by their min/max.
    Returns none when the table is empty (the model then reads everything, as on a first
    build). With var `assume_incremental` (the offline compile, no connection) a fixed stand-in
    literal is returned, so the compiled SQL shows the pruning filter.
    Example: where _loaded_at > {{ incremental_since() }}
#}
{% macro incremental_since(column='loaded_at') -%}
    {%- if var('assume_incremental', false) -%}
        {{ return("timestamp '2000-01-01 00:00:00'") }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set latest = run_query('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0] -%}
    {%- if latest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = latest - modules.datetime.timedelta(hours=var('incremental_lookback_hours')) -%}
    {{ return("timestamp '" ~ since.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'") }}
{%- endmacro %}
