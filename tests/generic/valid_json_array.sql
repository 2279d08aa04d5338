{#
    valid_json_array(model, column_name): every non-NULL value is JSON array text (see the
    is_json_text_array macro). Use it on a raw column with severity warn: bad values are
    quarantined by staging, the test only shows they exist.
#}
{% test valid_json_array(model, column_name) %}

select *
from {{ model }}
where not {{ is_json_text_array(column_name) }}

{% endtest %}
