{#
    is_paid_channel(channel_column): TRUE when the acquisition channel is bought, i.e. not one of
    var('unpaid_acquisition_channels') (organic, referral); FALSE for those and for NULL.
    Example: {{ is_paid_channel('acquisition_channel') }} as is_paid_channel
#}
{% macro is_paid_channel(channel_column) -%}
    {%- set unpaid = [] -%}
    {%- for channel in var('unpaid_acquisition_channels') -%}
        {%- do unpaid.append("'" ~ channel ~ "'") -%}
    {%- endfor -%}
    coalesce({{ channel_column }} not in ({{ unpaid | join(', ') }}), false)
{%- endmacro %}
