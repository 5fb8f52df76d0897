"""The demo county: synthetic returns over the real 纳雍县 master data, and its clones at
city and province scale."""
