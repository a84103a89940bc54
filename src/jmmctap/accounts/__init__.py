"""User accounts: users, groups and API tokens in the database, and how a request proves who it comes from.

``credentials`` parses the ``Authorization`` header, ``authenticator`` checks it (``passwords``: argon2,
``tokens``: hashed API tokens, ``external``: JMMC's account service, ``throttle``: failed-login rate
limit), ``middleware`` applies it to every request, ``store`` owns the SQL and ``cli`` the commands.
The package imports none of its modules here, so ``jmmctap`` commands stay quick to start.
"""

__all__: list[str] = []
