"""Code that runs inside the Rasa server (Python 3.10, .venv-rasa): loaded by Rasa from endpoints.yml."""
