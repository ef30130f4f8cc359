"""The rasa-sdk action server: one module per conversation flow, all calling ticketing's services."""

import os

from actions.common import warm_up_triage

# The launcher (launcher/processes.py) asks for it; tests that import the actions do not.
if os.environ.get("GRM_TRIAGE_AT_START") == "1":
    warm_up_triage()
