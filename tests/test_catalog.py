"""The catalogue is the one place a field or indicator is defined: everything else covers it."""
from sqlalchemy import inspect

from liushou_dash import catalog
from liushou_dash.ingest import cells, header
from liushou_dash.ingest.normalise import _Column
from liushou_dash.ingest.store import MODELS


def test_every_field_has_a_column_in_its_table():
    for sheet in catalog.SHEETS:
        columns = {c.name for c in inspect(MODELS[sheet.key]).columns}
        missing = [f.key for f in sheet.fields if f.key not in columns]
        assert not missing, f"{sheet.label}: {missing}"


def test_every_field_spelling_is_recognised_by_the_reader():
    for sheet in catalog.SHEETS:
        index = header.SPELLINGS[sheet.key]
        for f in sheet.fields:
            for spelling in f.spellings:
                assert index[cells.norm_text(spelling)] == f.key, (sheet.key, spelling)
            if f.group:
                assert index[cells.norm_text(f.group + f.label)] == f.key


def test_no_spelling_names_two_fields_of_one_sheet():
    for sheet in catalog.SHEETS:
        seen = {}
        for f in sheet.fields:
            for spelling in f.spellings:
                key = cells.norm_text(spelling)
                assert seen.setdefault(key, f.key) == f.key, (sheet.key, spelling)


def test_every_field_kind_has_a_normaliser():
    kinds = {f.kind for sheet in catalog.SHEETS for f in sheet.fields}
    for kind in kinds:
        assert callable(getattr(_Column, kind, None)), kind


def test_every_count_field_says_how_it_aggregates_over_time():
    for f in catalog.SCHOOLS.count_fields:
        assert f.over_time in ("last", "sum", "mean"), f.key


def test_indicators_name_known_quantities():
    known = (set(catalog.SCHOOL_COUNT_KEYS) | set(catalog.SCHOOL_TALLY_KEYS)
             | set(catalog.MEASURES_BY_KEY))
    for indicator in catalog.INDICATORS:
        assert indicator.numerator in known, indicator.key
        assert indicator.denominator is None or indicator.denominator in known, indicator.key
        assert indicator.label in indicator.formula()


def test_every_enumerated_alias_maps_to_a_choice():
    for sheet in catalog.SHEETS:
        for f in sheet.fields:
            for _, value in f.choice_aliases:
                assert value in f.choices, (f.key, value)
