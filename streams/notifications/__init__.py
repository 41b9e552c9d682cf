"""The notifications context: emails sent in reaction to other contexts' events.

`templates` renders each message; `mailer` composes it and hands it to an SMTP server
(server mode) or writes it to a folder (embedded mode).
"""
