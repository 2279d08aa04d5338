"""Offer Management: margin monitor, price-change effects, abnormal funnel drop-off, rewards."""
import altair as alt
import streamlit as st

from offerwall.app import common, data

STATUSES = ["negative", "thin", "healthy", "no_revenue"]


def main() -> None:
    if not common.header("Offer Management", "Margin per offer, what price changes did, where "
                         "funnels leak, and the largest reward that keeps the target margin.", page="offer_management"):
        return
    wh = common.warehouse()

    with common.section("Margin monitor"):
        st.subheader("Margin monitor")
        statuses = st.multiselect("Margin status", STATUSES, default=["negative", "thin"], key="statuses")
        monitor = data.margin_monitor(wh, statuses or None)
        if common.show(monitor, "No offer has this margin status in the latest window."):
            offer_id = st.selectbox(
                "Margin trend of offer", monitor.frame["offer_id"].tolist(), key="trend_offer",
                format_func=lambda o: f"{o} {monitor.frame.set_index('offer_id').at[o, 'offer_name']}")
            daily = data.offer_daily(wh, offer_id).frame
            if not daily.empty:
                st.altair_chart(alt.Chart(daily).mark_line(point=True).encode(
                    x="completed_date:T", y="margin_usd:Q",
                    tooltip=["completed_date", "completions", "revenue_usd", "margin_usd", "margin_pct"]),
                    width="stretch")

    with common.section("Price changes"):
        st.subheader("Effect of each price change")
        common.show(data.price_changes(wh), "No reward or payout change has been captured yet "
                    "(the task snapshots record changes from one build to the next).")

    with common.section("Funnel drop-off"):
        st.subheader("Funnel steps with abnormal drop-off")
        abnormal_only = st.toggle("Abnormal steps only", value=True, key="abnormal_only")
        common.show(data.funnel_drop_offs(wh, abnormal_only), "No funnel step converts abnormally low.")

    with common.section("Reward recommendation"):
        st.subheader("Reward recommendation per task")
        choice = st.selectbox("Recommendation", ["all", "lower", "can_raise", "keep"], key="recommendation")
        recs = data.reward_recommendations(wh, recommendation=None if choice == "all" else choice)
        if common.show(recs, "No task has this recommendation.", column_order=[
                "offer_id", "offer_name", "task_position", "title", "payout_usd", "reward_usd",
                "recommended_reward_usd", "reward_change_usd", "recommendation", "expected_margin_pct",
                "target_margin_pct", "reversal_rate", "reversal_rate_basis"]):
            st.altair_chart(alt.Chart(recs.frame).mark_circle().encode(
                x=alt.X("reward_usd:Q", title="today's reward (USD)"),
                y=alt.Y("recommended_reward_usd:Q", title="recommended reward (USD)"),
                color="recommendation:N",
                tooltip=["offer_name", "title", "reward_usd", "recommended_reward_usd", "reversal_rate"]),
                width="stretch")


main()
