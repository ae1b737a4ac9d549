"""HTTP handlers: parse and validate, call one use case, present the envelope."""
