"""Alerts: today's anomalies (completions, margin, chargeback rate per offer, provider, channel)."""
import altair as alt
import streamlit as st

from offerwall.app import common, data


def main() -> None:
    if not common.header("Alerts", "Each series against its own trailing baseline; the latest "
                         "complete day.", page="alerts"):
        return
    wh = common.warehouse()
    with common.section("Anomalies"):
        series_type = st.selectbox("Series", ["all", "offer", "provider", "channel"], key="series_type")
        result = data.anomalies(wh, series_type=None if series_type == "all" else series_type)
        if not result.frame.empty:
            st.caption(f"Day: {result.frame['metric_date'].iloc[0]}")
        if common.show(result, "No anomaly on the latest day for these series.", column_order=[
                "metric_date", "series_type", "series_key", "offer_name", "metric", "metric_value",
                "baseline_mean", "baseline_stddev", "z_score", "direction"]):
            labels = [f"{r.series_type}|{r.series_key}|{r.metric}" for r in result.frame.itertuples()]
            chosen = st.selectbox("Series to plot", labels, key="plot_series")
            s_type, s_key, metric = chosen.split("|")
            series = data.anomaly_series(wh, s_type, s_key, metric).frame
            base = alt.Chart(series).encode(x="metric_date:T")
            st.altair_chart(
                base.mark_line().encode(y=alt.Y("metric_value:Q", title=metric))
                + base.mark_line(strokeDash=[4, 4], color="gray").encode(y="baseline_mean:Q")
                + base.mark_point(color="red", size=80).encode(y="metric_value:Q").transform_filter("datum.is_anomaly"),
                width="stretch")

    st.subheader("Published builds")
    st.caption("The run log ops.build_runs: one row per published build (who ran it, the commit, rows published).")
    try:
        runs = data.build_runs(wh)
    except data.WarehouseError as exc:
        st.warning(f"No run log in this warehouse ({exc}). It appears after the first published build (`make run`).")
    else:
        common.show(runs, "No published build recorded yet: `make run` publishes the marts and writes the run log.")


main()
