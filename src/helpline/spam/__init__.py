"""The spam filter Helpline talks to: SpamAssassin's spamd (docs/spam.md).

``spamd`` asks it for a verdict and hands it mail to learn from.  Nothing here
touches the database: the actions (``actions.spam``) and the mail pipeline
(``mail.spam``) decide what a verdict does to a ticket.
"""
