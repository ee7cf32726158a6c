"""The control panel's pages: ``/docs`` (the API documentation generated from the command
registry) and ``/panel`` (one account's dashboards, fed by the same command handlers as the
API).  Every asset is served by the package itself.
"""
