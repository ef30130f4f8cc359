"""WhatsApp (through Twilio) and Facebook Messenger: signed webhooks in, replies out.

Rasa's own connectors for both check signatures weakly or not at all, process a
redelivered message twice, and drop media; these replace them. credentials.yml names
them by module path (`bot.channels.whatsapp.WhatsAppInput`), so Rasa imports these modules.

A conversation is found by its sender id alone, whatever channel a message came in on.
WhatsApp ids are phone numbers, easy to guess, and the webchat and REST channels let the
client choose its id; so each channel keeps to its own ids: "whatsapp:+977...",
"facebook:<page-scoped id>", and, for the webchat and REST, ids without a colon (our
subclasses drop any other message), so no one can write into another's conversation.

Both channels show buttons as numbered choices when they cannot show them natively, and
a citizen's number is read back as the button's payload: the choices are taken from the
conversation's tracker, so any Rasa worker can read them, before or after a restart.
"""
