"""Entry point of `make app`: one page per team (Streamlit multipage navigation)."""
from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "views"

st.set_page_config(page_title="Offerwall warehouse", layout="wide")
st.navigation([
    st.Page(PAGES / "anti_fraud.py", title="Anti-Fraud review", url_path="anti_fraud", default=True),
    st.Page(PAGES / "offer_management.py", title="Offer Management", url_path="offer_management"),
    st.Page(PAGES / "user_acquisition.py", title="User Acquisition", url_path="user_acquisition"),
    st.Page(PAGES / "alerts.py", title="Alerts", url_path="alerts"),
]).run()
