"""Live viewers: the nginx-rtmp ``/stat`` parser, the collector loop, HLS viewers derived from
access logs, the push route for servers that report by themselves, and purge."""
