"""The wire protocol, pure and shared by server and SDK: PHP-compatible JSON, signing,
request decoding and the response envelope.  Imports nothing of the store or HTTP."""
