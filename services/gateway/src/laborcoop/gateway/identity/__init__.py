"""Identity: the OAuth clients of provincial systems, the token endpoint that authenticates them
(client credentials, RFC 6749 §4.4), and the signing keys whose public halves every service
verifies tokens with (``/.well-known/jwks.json``)."""
