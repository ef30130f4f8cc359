"""The supervisor `make run` starts: it prepares the ticket store and starts, watches and stops
Rasa, the action server, the scheduler and the web app. Nothing in the domain imports it."""
