"""A bare Streamlit app: the one-line page whose server's memory the app's is compared with."""
import streamlit as st

st.write("hello")
