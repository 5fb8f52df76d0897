"""The Streamlit glue: the login gate, cached readers, widgets, charts, maps, the sidebar
and navigation. The only layer that imports streamlit; app_pages/ lay out its pieces."""
