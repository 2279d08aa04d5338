"""Anti-Fraud review: the queue by stoppable money, one user's evidence, and the decision."""
import altair as alt
import pandas as pd
import streamlit as st

from offerwall.app import common, data, decisions

# signal column, what it measures (value column), var prefix of its ramp
SIGNALS = [
    ("device_signal", "device_sharing_users", "anti_fraud_device_users"),
    ("network_signal", "network_sharing_users", "anti_fraud_ip_users"),
    ("fast_completion_signal", "fast_completion_share", "anti_fraud_fast_share"),
    ("velocity_signal", "completions_per_active_day", "anti_fraud_velocity"),
    ("chargeback_signal", "matured_chargeback_rate", "anti_fraud_chargeback_rate"),
    ("country_signal", "distinct_countries", "anti_fraud_countries"),
    ("rejection_signal", "rejection_rate", "anti_fraud_rejection_rate"),
    ("payout_concentration_signal", "top_offer_payout_share", "anti_fraud_payout_concentration"),
]


def signals_table(row: pd.Series) -> pd.DataFrame:
    v = common.dbt_vars()
    return pd.DataFrame([{
        "signal": name.removesuffix("_signal"),
        "value": row.get(value),
        "ramp starts at": v.get(f"{prefix}_low"),
        "ramp full at": v.get(f"{prefix}_high"),
        "signal (0-1)": row.get(name),
    } for name, value, prefix in SIGNALS])


def linked_graph(user_id: str, links: pd.DataFrame) -> str:
    lines = ["graph {", 'rankdir=LR; node [shape=box, fontsize=10];',
             f'"{user_id}" [style=filled, fillcolor="#f4a3a3"];']
    for key, group in links.groupby(["link", "shared_key"]):
        hub = f"{key[0]}:{str(key[1])[:8]}"
        lines.append(f'"{hub}" [shape=ellipse, fillcolor="#dddddd", style=filled];')
        lines.append(f'"{user_id}" -- "{hub}";')
        for _, r in group.iterrows():
            colour = "#f4a3a3" if r["risk_tier"] == "high" else "#ffffff"
            lines.append(f'"{r["linked_user_id"]}" [style=filled, fillcolor="{colour}"];')
            lines.append(f'"{hub}" -- "{r["linked_user_id"]}";')
    lines.append("}")
    return "\n".join(lines)


def decision_form(store, who, user_id: str, risk_score) -> None:
    if not who.may_record:
        st.info(f"{who.email} may read the evidence but not record a decision: that needs the role "
                "anti_fraud_reviewer in the app's role map (docs/app.md, 'Identity and roles').")
        return
    key = f"decision_id:{user_id}"
    if key not in st.session_state:
        st.session_state[key] = decisions.new_decision_id()
    with st.form(f"decide:{user_id}"):
        choice = st.radio("Decision", decisions.DECISIONS, horizontal=True, key=f"choice:{user_id}")
        st.caption(f"Recorded as {who.email} (the signed-in user).")
        note = st.text_area("Note", key=f"note:{user_id}", help=f"Up to {decisions.MAX_NOTE} characters.")
        submitted = st.form_submit_button("Save decision")
    if submitted:
        try:
            decision = decisions.make_decision(
                user_id=user_id, decision=choice, reviewer=who, note=note,
                risk_score=risk_score, decision_id=st.session_state[key])
            saved = store.save(decision)
        except decisions.DecisionError as exc:
            st.error(str(exc))
            return
        if saved.written:
            st.success(f"Saved: {decision.decision} for {user_id} by {decision.reviewer} "
                       f"(decision {decision.decision_id}). The marts show it after the next build.")
        else:
            st.warning(f"Already saved (decision {decision.decision_id}): a second click on "
                       "save writes nothing. Use 'New decision' to record another one.")
    if st.button("New decision", key=f"new:{user_id}"):
        st.session_state[key] = decisions.new_decision_id()
        st.rerun()


def main() -> None:
    if not common.header("Anti-Fraud review", "The high-risk users, most stoppable money first. "
                         "Decisions are appended to ops.fraud_review_decisions.", page="anti_fraud"):
        return
    wh, store, who = common.warehouse(), common.store(), common.user()

    with common.section("Review queue"):
        cols = st.columns(3)
        status = cols[0].selectbox("Review status", ["all", *data.REVIEW_STATUSES], key="status")
        fraud_type = cols[1].selectbox("Suspected fraud type", ["all", *data.fraud_types(wh)], key="fraud_type")
        limit = cols[2].number_input("Rows", min_value=10, max_value=5000, value=200, step=50, key="limit")
        queue = data.review_queue(wh, status=None if status == "all" else status,
                                  fraud_type=None if fraud_type == "all" else fraud_type, limit=limit)
        # the learned model's score and top features beside the rules' (issue 18; NULL until trained)
        order = ["review_rank", "user_id", "money_at_risk_usd", "risk_score", "suspected_fraud_type",
                 "model_score", "model_top_features", "review_status", "latest_reviewer", "completions",
                 "device_sharing_users", "network_sharing_users", "acquisition_channel", "last_completed_at"]
        shown = common.show(queue, "No user in the queue matches these filters.",
                            column_order=[c for c in order if c in queue.frame.columns])

    st.subheader("Review a user")
    options = queue.frame["user_id"].tolist() if shown else []
    typed = st.text_input("User id (or pick one from the queue below)", key="typed_user").strip()
    picked = st.selectbox("Queue user", options, key="picked_user") if options else None
    user_id = typed or picked
    if not user_id:
        return
    row = None
    with common.section("User"):
        signals = data.user_signals(wh, user_id).frame
        if signals.empty:
            st.error(f"Unknown user {user_id!r}: no completions or fraud signals in the warehouse. "
                     "Check the id (user ids look like u_0123abcd...).")
            return
        row = signals.iloc[0]
        in_queue = not data.queue_entry(wh, user_id).frame.empty
        c = st.columns(4)
        c[0].metric("Risk score", f"{row['risk_score']:.1f}")
        c[1].metric("Tier", row["risk_tier"])
        c[2].metric("Money at risk (USD)", f"{row['money_at_risk_usd']:,.2f}")
        c[3].metric("Suspected type", row["suspected_fraud_type"])
        if not in_queue:
            st.info("This user is not in the review queue (not high risk); a decision is still recorded.")
        st.markdown("**Signals and their thresholds**")
        st.dataframe(signals_table(row), hide_index=True)

        links = data.linked_accounts(wh, user_id).frame
        st.markdown(f"**Linked accounts** (shared device or IP): {links['linked_user_id'].nunique()} users")
        if links.empty:
            st.caption("No other user shares a device or an IP with this user.")
        else:
            st.graphviz_chart(linked_graph(user_id, links))

        timeline = data.completion_timeline(wh, user_id).frame
        st.markdown("**Completion timeline**")
        if not timeline.empty:
            st.altair_chart(alt.Chart(timeline).mark_circle(size=60).encode(
                x="completed_at:T", y="payout_usd:Q", color="status:N",
                tooltip=["completed_at", "offer_id", "task_type", "status", "payout_usd", "minutes_to_complete"]),
                width="stretch")

    if row is None:
        return
    st.markdown("**Decision**")
    decision_form(store, who, user_id, float(row["risk_score"]))
    history = store.for_user(user_id)
    st.markdown("**Decisions recorded for this user** (live from the decisions store; the latest counts)")
    if history.empty:
        st.caption("None yet.")
    else:
        st.dataframe(history, hide_index=True)

    with common.section("Review outcomes"):
        st.subheader("How the score fares against the decisions")
        outcomes = data.review_outcomes(wh)
        if common.show(outcomes, "No decision has reached the warehouse yet (decide some users, "
                       "then rebuild: `make run` or `dbt build`)."):
            by_tier = outcomes.frame[outcomes.frame["suspected_fraud_type"] == "all"]
            st.altair_chart(alt.Chart(by_tier).mark_bar().encode(
                x="risk_tier:N", y=alt.Y("score_precision:Q", scale=alt.Scale(domain=[0, 1])),
                tooltip=list(by_tier.columns)), width="stretch")


main()
