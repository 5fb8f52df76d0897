"""Reports: downloads (CSV/XLSX) and the monthly bulletin. Imports the catalogue, storage
and indicators."""
