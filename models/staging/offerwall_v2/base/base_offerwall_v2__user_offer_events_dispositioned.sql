-- Every stored event row with its disposition, decided over all rows of its idempotency key:
-- the first-ingested copy is the event (first write wins, so an incremental run and a full
-- refresh agree); exact later or repeated copies are `duplicate` (dropped); a row breaking a
-- rule of its own is `quarantined` with that `reason`; first-ingested copies that disagree
-- in content are all quarantined (`conflicting_duplicate`: no way to tell the true one), and a
-- later copy that disagrees with the kept one is quarantined (`conflicting_late_copy`).
-- Parents (the user, the offer) are checked last: `unknown_fk` when they are not in the
-- source at all. Completion events are checked against their task and offer by the v1 rules
-- through stg_offerwall_v2__user_offers_as_v1.
with

base_offerwall_v2__user_offer_events as (
    select * from {{ ref('base_offerwall_v2__user_offer_events') }}
),

base_offerwall__users as (
    select * from {{ ref('base_offerwall__users') }}
),

base_offerwall__offers as (
    select * from {{ ref('base_offerwall__offers') }}
),

users as (
    select distinct user_id
    from base_offerwall__users
    where user_id is not null
),

offers as (
    select distinct offer_id
    from base_offerwall__offers
    where offer_id is not null
),

first_copies as (
    select
        *,
        min(ingested_at) over (partition by idempotency_key) as first_ingested_at
    from base_offerwall_v2__user_offer_events
),

compared as (
    select
        *,
        ingested_at = first_ingested_at as is_first_copy,
        min(case when ingested_at = first_ingested_at then row_fingerprint end)
            over (partition by idempotency_key)
        <> max(case when ingested_at = first_ingested_at then row_fingerprint end)
            over (partition by idempotency_key) as is_conflicting,
        max(case when ingested_at = first_ingested_at then row_fingerprint end)
            over (partition by idempotency_key) as kept_fingerprint
    from first_copies
),

reasoned as (
    select
        compared.*,
        {{ first_failed_rule([
            ['own', 'own_reason is not null'],
            ['conflicting_duplicate', 'is_conflicting'],
            ['conflicting_late_copy', 'not is_first_copy and row_fingerprint <> kept_fingerprint'],
            ['unknown_fk', 'users.user_id is null or offers.offer_id is null'],
        ]) }} as rule_broken
    from compared
    left join users
        on compared.user_id = users.user_id
    left join offers
        on compared.offer_id = offers.offer_id
),

final as (
    select
        *,
        case when rule_broken = 'own' then own_reason else rule_broken end as reason,
        case
            when rule_broken is not null then 'quarantined'
            when is_first_copy and copy_number = 1 then 'staged'
            else 'duplicate'
        end as disposition
    from reasoned
)

select * from final
