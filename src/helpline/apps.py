from django.apps import AppConfig


class HelplineConfig(AppConfig):
    name = "helpline"
    verbose_name = "Helpline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The mail pipeline knows nothing of answering; answering subscribes to it.
        from helpline.mail import hooks
        from helpline.responses.auto import send_auto_response
        from helpline.responses.notify import after_inbound

        for hook in (send_auto_response, after_inbound):
            if hook not in hooks.after_inbound:
                hooks.after_inbound.append(hook)

        # The domain announces what agents may be told of; notifications subscribe.
        from helpline.actions import events
        from helpline.responses.notify import deliver

        if deliver not in events.on_announce:
            events.on_announce.append(deliver)

        # Automation jobs may trigger on what is announced (escalations).
        from helpline.automation.triggers import record_announced

        if record_announced not in events.on_announce:
            events.on_announce.append(record_announced)

        # Redaction rewrites stored mail with the mail layer's parser.
        from helpline.actions import redaction_copies
        from helpline.mail import rewrite

        editor = redaction_copies.MailEditor(rewrite.rewrite, rewrite.replace_text)
        if editor not in redaction_copies.editors:
            redaction_copies.editors.append(editor)

        # "Not spam" asks the mail layer where routing would put a ticket's mail.
        from helpline.actions import spam
        from helpline.mail.spam import route_again

        if route_again not in spam.routers:
            spam.routers.append(route_again)

        # Every process learns of configuration changes the mail pipeline caches.
        from helpline.mail import snapshot

        snapshot.connect()

        # The search index follows every ticket change (after commit, as a job).
        from django.db.models.signals import post_migrate

        from helpline.search.indexer import index_after_migrate, register

        register()
        post_migrate.connect(index_after_migrate, sender=self)

        # Withdrawing access withdraws it, however it is withdrawn.
        from helpline.actions import withdrawal

        withdrawal.connect()

        # Escalation times follow every change of a ticket (docs/service-levels.md).
        from helpline.actions import escalations

        escalations.register()

        # The system checks (`helpline check` warns about data files others may read).
        import helpline.checks  # noqa: F401

        # The LDAP settings (docs/authentication.md).
        import helpline.ldap_checks  # noqa: F401

        # `helpline check --deploy`: settings a production host needs.
        import helpline.production_checks  # noqa: F401

        # Single sign-on and password-login settings (docs/authentication.md).
        import helpline.sso.checks  # noqa: F401

        # The worker (run_huey) only auto-loads modules named "tasks": load the jobs.
        # The mail layer hands stored messages and queued mail to them by its hooks.
        from helpline import jobs

        if jobs.enqueue_inbound not in hooks.on_stored:
            hooks.on_stored.append(jobs.enqueue_inbound)
        if jobs.kick_outbox not in hooks.on_outbox_queued:
            hooks.on_outbox_queued.append(jobs.kick_outbox)

        # Logins and logouts are recorded as agent sessions (docs/authentication.md).
        from helpline.web import sessions

        sessions.connect()
