"""Indicators: the readers of the stored data, ratios, targets, cards, ranking, alerts.
Imports the catalogue and storage only."""
