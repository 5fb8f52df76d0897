"""Entry point: page setup and routing only (the login gate and per-role pages come later)."""
import streamlit as st

st.set_page_config(page_title="留守儿童关爱工作监测平台", layout="wide")

st.navigation([
    st.Page("pages/cockpit.py", title="总览", icon="📊", default=True),
]).run()
