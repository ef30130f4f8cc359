"""`python -m bot.serve run ...`: `rasa run`, with its HTTP API's token read from the environment.

Rasa takes that token only as a command-line argument (--auth-token), which every local
user can read in the process list. The launcher (launcher/processes.py) puts it in
GRM_RASA_TOKEN instead, and it reaches Rasa's argument parser inside this process.
"""

from __future__ import annotations

import os
import sys

from rasa.__main__ import main

TOKEN_VARIABLE = "GRM_RASA_TOKEN"

if __name__ == "__main__":
    token = os.environ.pop(TOKEN_VARIABLE, "")
    if token:
        sys.argv.append(f"--auth-token={token}")
    main()
