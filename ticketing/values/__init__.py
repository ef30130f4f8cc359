"""The values citizens and officers type and read: phone numbers, e-mail addresses, public
references, Devanagari digits and dates as Nepal reads them. Each knows nothing of the store."""
