{#
    get_where_subquery(relation): what a data test reads of the model it tests. Overrides
    dbt's macro of the same name (the documented hook for runtime `where` logic) to size the
    tests to the run (docs/models.md, "Incremental end to end"):

    - scope `full` (default: `make test`, CI, the scheduled full run): dbt's behaviour, the whole
      table (filtered by the test's `where` config if it has one);
    - scope `slice` (the daily run): a model named in var('test_slice_columns') is tested on the rows
      its run wrote, those whose <column> is within var('incremental_lookback_hours') of the
      table's latest, e.g. `loaded_at > (select max(loaded_at) ...) - 48 h`. A unique test then
      checks the slice, a relationships test the slice's keys against the whole parent. Only
      the tests of one table's rows are sliced (var('test_slice_kinds'): unique, not_null, ...);
      a test comparing the table with another one (equal_sum, rows_reconcile, ...) reads it
      whole, as does every singular test: half of a comparison cannot be sliced.

    The scope is var('test_scope') if given (the Dagster daily run passes it with its other
    vars), else env OFFERWALL_TEST_SCOPE (`make`, the bench), else `full`. Read when the test
    runs, not when dbt parses: switching the env var costs no re-parse.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {#- read only when the test runs: at parse time the env var would join the parse state -#}
    {%- set scope = var('test_scope', env_var('OFFERWALL_TEST_SCOPE', 'full')) if execute else 'full' -%}
    {%- set slice_columns = var('test_slice_columns', {}) -%}
    {%- set column = slice_columns.get(relation.identifier) if relation.identifier is not none else none -%}
    {%- set test_kind = ((model.get('test_metadata') or {}).get('name')) if model is mapping else none -%}
    {%- if test_kind not in var('test_slice_kinds', []) -%}
        {%- set column = none -%}
    {%- endif -%}
    {%- if scope not in ('full', 'slice') -%}
        {{ exceptions.raise_compiler_error("OFFERWALL_TEST_SCOPE must be 'full' or 'slice', not '" ~ scope ~ "'") }}
    {%- endif -%}
    {%- set conditions = [] -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if column and scope == 'slice' -%}
        {%- do conditions.append(
            column ~ ' > (select max(' ~ column ~ ') - interval ' ~ var('incremental_lookback_hours')
            ~ ' hour from ' ~ relation ~ ')'
        ) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
