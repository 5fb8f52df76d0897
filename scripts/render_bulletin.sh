#!/usr/bin/env bash
# Render the monthly bulletin to PDF and PNG pages, to look at it as a reader will.
#
#   scripts/render_bulletin.sh [PERIOD] [OUTDIR]
#
# Without LIUSHOU_DATABASE_URL it seeds a 13-month demo county into OUTDIR/demo.db first (the
# latest month is then the last complete one). Needs LibreOffice (soffice) and poppler-utils
# (pdftoppm): apt-get install -y libreoffice-writer-nogui poppler-utils fonts-noto-cjk
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT="${2:-${TMPDIR:-/tmp}/liushou-bulletin}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

for tool in soffice pdftoppm; do
  command -v "$tool" >/dev/null || { echo "缺少 $tool：请安装 libreoffice-writer-nogui 和 poppler-utils" >&2; exit 2; }
done

DB="${LIUSHOU_DATABASE_URL:-sqlite:///$OUT/demo.db}"
if [ -z "${LIUSHOU_DATABASE_URL:-}" ] && [ ! -f "$OUT/demo.db" ]; then
  $PY -m liushou_dash --db "$DB" seed-demo --months 13 >/dev/null
fi
PERIOD="${1:-$($PY -c "from liushou_dash.indicators.readers import latest_period; from liushou_dash.core.db import make_engine; print(latest_period(make_engine('$DB')))")}"

$PY -m liushou_dash --db "$DB" bulletin --period "$PERIOD" -o "$OUT/bulletin.docx" --xlsx "$OUT/bulletin.xlsx"
# A private profile: soffice refuses to start while another instance holds the user's.
soffice -env:UserInstallation="file://$OUT/.lo-profile" --headless --convert-to pdf \
  --outdir "$OUT" "$OUT/bulletin.docx" >/dev/null 2>&1
rm -f "$OUT"/page-*.png
pdftoppm -r "${DPI:-80}" -png "$OUT/bulletin.pdf" "$OUT/page"
echo "$(pdfinfo "$OUT/bulletin.pdf" 2>/dev/null | grep Pages || true) → $OUT/bulletin.pdf, $OUT/page-*.png"
