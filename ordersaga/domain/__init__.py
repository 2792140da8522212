"""The order domain: models, events, the order state machine and errors. No I/O lives here."""
