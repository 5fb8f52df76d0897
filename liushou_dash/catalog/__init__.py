"""The catalogue: the one place a field, an indicator and its presentation are declared.

fields.py declares the return sheets and their fields; indicators.py the measures and
indicators computed from them; columns.py the kinds and formats of table columns; rules.py
the county's rules (rules.toml); messages.py and wording.py the words users read.
`catalog.X` names the declarations of fields.py and indicators.py.
"""
from liushou_dash.catalog.fields import (  # noqa: F401
    ALLOCATED_KIND,
    BOOL,
    CODE,
    COUNT,
    DATE,
    DISBURSED_KIND,
    ENUM,
    FUNDING,
    FUNDING_CATEGORIES,
    FUNDING_KINDS,
    FUNDING_SOURCES,
    GUARDIAN_GROUP,
    HOMES,
    HOST_TYPES,
    MONEY,
    NO,
    NUMBER,
    SCHOOL_COUNT_KEYS,
    SCHOOL_HOST_TYPE,
    SCHOOL_TALLY_KEYS,
    SCHOOL_TYPES,
    SCHOOLS,
    SCHOOLS_REPORTED,
    SEX_GROUP,
    SHEETS,
    SHEETS_BY_KEY,
    STAGE_GROUP,
    TALLY_LABELS,
    TEXT,
    VILLAGE_HOST_TYPES,
    YES,
    Field,
    Sheet,
    schools_with,
)
from liushou_dash.catalog.indicators import (  # noqa: F401
    BULLETIN,
    CARD,
    ID_LABELS,
    INDICATORS,
    INDICATORS_BY_KEY,
    MAP,
    MEASURES,
    MEASURES_BY_KEY,
    SURFACES,
    TREND,
    Indicator,
    Measure,
    label_of,
    on,
)
