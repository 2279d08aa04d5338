"""The teams' web app (Streamlit): one page per team over the marts, and the Anti-Fraud
review loop back into the warehouse. Start it with `make app`; docs/app.md."""

from offerwall.extras import require

require("app", "streamlit")
