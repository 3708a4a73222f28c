"""Single sign-on with OpenID Connect (docs/authentication.md): the relying party
(``oidc``), the password-login rule (``backends``).  The web views are in
``helpline.web.views.sso``; the agent and its roles in ``helpline.actions.sso``."""
