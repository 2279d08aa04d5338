"""User Acquisition: cohort ROAS with and without suspected fraud, cohort curves, retention after
the first reward, LTV forecast, max CAC."""
import altair as alt
import streamlit as st

from offerwall.app import common, data


def main() -> None:
    if not common.header("User Acquisition", "Cohort returns by channel x country x platform, "
                         "the d90 LTV forecast and the most a user may cost.", page="user_acquisition"):
        return
    wh = common.warehouse()
    channel = "all"

    with common.section("Cohorts"):
        st.subheader("Cohort ROAS (recognised margin / spend)")
        dims = data.ua_dimensions(wh)
        c = st.columns(3)
        channel = c[0].selectbox("Channel", dims["acquisition_channel"], key="channel",
                                 index=dims["acquisition_channel"].index("all"))
        country = c[1].selectbox("Country", dims["country"], key="country", index=dims["country"].index("all"))
        platform = c[2].selectbox("Platform", dims["platform"], key="platform", index=dims["platform"].index("all"))
        curves = data.cohort_roas_weekly(wh, channel, country, platform)
        if common.show(curves, "No cohort for this channel x country x platform."):
            long = curves.frame.melt(id_vars=["cohort_week", "fraud_scope"],
                                     value_vars=["roas_d7", "roas_d30", "roas_d90"],
                                     var_name="horizon", value_name="roas").dropna()
            if long.empty:
                st.caption("No horizon has elapsed (or no spend) for these cohorts yet.")
            else:
                st.altair_chart(alt.Chart(long).mark_line(point=True).encode(
                    x="cohort_week:T", y="roas:Q", color="horizon:N", strokeDash="fraud_scope:N",
                    tooltip=["cohort_week", "horizon", "fraud_scope", "roas"]), width="stretch")

    signup_week = None
    with common.section("Cohort curves"):
        st.subheader("Cumulative ROAS by day since signup")
        weeks = data.curve_signup_weeks(wh)
        week = st.selectbox("Signup week (Monday)", ["all", *weeks], key="signup_week")
        signup_week = None if week == "all" else week
        st.caption(f"Channel: {channel} (the filter above). One line per channel x signup week; "
                   "dashed: without the suspected fraudsters' margin (spend unchanged).")
        curves = data.cohort_curves(wh, channel, signup_week)
        if curves.frame.empty:
            st.info("No cohort curve for this channel x signup week.")
        else:
            long = curves.frame.melt(id_vars=["acquisition_channel", "signup_week", "day_since_signup"],
                                     value_vars=["cumulative_roas", "cumulative_roas_excl_suspected_fraud"],
                                     var_name="measure", value_name="roas").dropna()
            if long.empty:
                st.caption("No spend for these cohorts (an unpaid channel): no ROAS.")
            else:
                st.altair_chart(alt.Chart(long).mark_line().encode(
                    x=alt.X("day_since_signup:Q", title="day since signup"), y=alt.Y("roas:Q", title="cumulative ROAS"),
                    color="acquisition_channel:N", strokeDash="measure:N", detail="signup_week:T",
                    tooltip=["acquisition_channel", "signup_week", "day_since_signup", "measure", "roas"]),
                    width="stretch")

    with common.section("Retention after the first reward"):
        st.subheader("Retention after the first reward")
        settings = common.dbt_vars()
        window, hunt = settings.get("first_reward_cohort_days"), settings.get("incentive_hunter_window_days")
        retention = data.retention_after_first_reward(wh, channel, signup_week)
        if retention.frame.empty:
            days = f" ({window} days after signup)" if window else ""
            st.info("No retention after the first reward for this channel x signup week yet: a cohort "
                    f"shows once its first-reward window{days} has closed.")
        else:
            long = retention.frame.melt(
                id_vars=["acquisition_channel", "signup_week", "day_since_first_reward"],
                value_vars=["retention_rate", "retention_rate_excl_suspected_fraud"],
                var_name="measure", value_name="rate").dropna()
            st.altair_chart(alt.Chart(long).mark_line().encode(
                x=alt.X("day_since_first_reward:Q", title="day since the first reward"),
                y=alt.Y("rate:Q", title="share of rewarded users active"), color="acquisition_channel:N",
                strokeDash="measure:N", detail="signup_week:T",
                tooltip=["acquisition_channel", "signup_week", "day_since_first_reward", "measure", "rate"]),
                width="stretch")
            st.markdown(f"**Incentive hunters**: rewarded users with no completion in the {hunt or 'window of'} "
                        "days after their first reward (blank until that window has passed for the cohort)")
            common.show(data.incentive_hunters(wh, channel, signup_week), "No cohort for this filter.")

    with common.section("LTV forecast"):
        st.subheader("d90 LTV forecast")
        accuracy = data.ltv_accuracy(wh)
        st.markdown("**Error on held-out mature cohorts** (WAPE: sum |forecast - observed| / sum |observed|)")
        common.show(accuracy, "No mature cohort (90 days old) is held out yet: the forecast cannot be "
                    "measured until the warehouse holds more than 90 days of signups.")
        forecast = data.ltv_forecast(wh, channel)
        if common.show(forecast, "No cohort for this channel."):
            st.altair_chart(alt.Chart(forecast.frame.dropna(subset=["ltv_d90_usd"])).mark_circle().encode(
                x="cohort_date:T", y=alt.Y("ltv_d90_usd:Q", title="d90 margin (USD)"),
                color="ltv_d90_basis:N", tooltip=["cohort_date", "acquisition_channel", "ltv_d90_usd",
                                                  "ltv_d90_basis", "users"]), width="stretch")

    with common.section("Max CAC"):
        st.subheader("Maximum CAC per channel x country")
        per_country = st.toggle("Per country", value=False, key="per_country")
        cac = data.max_cac(wh, None if per_country else "all")
        if common.show(cac, "No paid cohort has reached the payback target yet.") and not per_country:
            long = cac.frame.melt(id_vars=["acquisition_channel"],
                                  value_vars=["current_cac_usd", "max_cac_usd", "max_cac_excluding_fraud_usd"],
                                  var_name="measure", value_name="usd").dropna()
            st.altair_chart(alt.Chart(long).mark_bar().encode(
                x="acquisition_channel:N", y="usd:Q", color="measure:N", xOffset="measure:N",
                tooltip=["acquisition_channel", "measure", "usd"]), width="stretch")


main()
