"""The providers shipped with the core: ``env`` and ``dotenv``.

Each is registered under the entry-point group ``bandwidth_credentials.providers``,
the same way plugin providers are.
"""
