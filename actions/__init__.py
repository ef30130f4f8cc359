"""The rasa-sdk action server: one module per conversation flow, all calling ticketing's services."""
