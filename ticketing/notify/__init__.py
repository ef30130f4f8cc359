"""Who is told what about a case, in which words and language, and the outbox that sends it
over SMS, WhatsApp, Messenger or e-mail (the senders) with retries."""
