{{ config(severity='warn', tags=['quarantine']) }}
-- Warns when the quarantine share of a raw table jumps against its own trailing baseline: the
-- mean share of the last var('quarantine_baseline_builds') green builds
-- (<audit schema>.audit_quarantine_share_history, written by the on-run-end hook). A share
-- above var('quarantine_jump_factor') x the baseline and at least
-- var('quarantine_jump_min_share') above it is a new problem; a steady share of bad rows is
-- not (docs/guarantees.md, guarantee 10). No history yet: no warning. Returns the tables
-- whose share jumped, with the figures.
-- depends_on: {{ ref('stg_offerwall__offers_quarantine') }}
-- depends_on: {{ ref('stg_offerwall__offer_tasks_quarantine') }}
-- depends_on: {{ ref('stg_offerwall__user_offers_quarantine') }}
-- depends_on: {{ ref('stg_offerwall__users_quarantine') }}
-- depends_on: {{ ref('stg_offerwall__ua_spend_daily_quarantine') }}
{{ quarantine_share_jump_sql() }}
