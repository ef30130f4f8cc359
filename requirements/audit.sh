#!/usr/bin/env bash
# Checks the frozen requirements (app.txt, rasa.txt) against the published advisories.
# It needs the network (PyPI's advisory records, or osv.dev with AUDIT_SERVICE=osv), so it is
# run by hand and never by `make test`. The advisories weighed in docs/security.md (under
# "What cannot be upgraded") are passed over; any other fails the run. So does a package the
# service could not look up: without --strict, pip-audit reports "No known vulnerabilities"
# even when it could audit nothing at all.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${AUDIT_VENV:-${TMPDIR:-/tmp}/grm-pip-audit}"
if [ ! -x "$venv/bin/pip-audit" ]; then
  # Outside the project's environments: the auditor's own dependencies stay out of them.
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pip-audit==2.10.1
fi

ignored=()
for id in $(awk '/^#/{on = ($0 ~ /^### What cannot be upgraded/)} on' docs/security.md |
  grep -oE 'CVE-[0-9]{4}-[0-9]+|GHSA(-[0-9a-z]{4}){3}|PYSEC-[0-9]{4}-[0-9]+' | sort -u); do
  ignored+=(--ignore-vuln "$id")
done

status=0
for frozen in requirements/app.txt requirements/rasa.txt; do
  echo "== $frozen"
  "$venv/bin/pip-audit" --requirement "$frozen" --no-deps --disable-pip --strict \
    --vulnerability-service "${AUDIT_SERVICE:-pypi}" --progress-spinner off --desc off \
    "${ignored[@]}" || status=1
done
exit "$status"
