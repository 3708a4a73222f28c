"""URL map of the agent interface (docs/web.md lists it with what each page does)."""

from django.contrib import admin
from django.urls import include, path, re_path

from helpline.api.urls import api
from helpline.web.views import (
    administration,
    agent_admin,
    agent_sessions,
    agentday,
    answer_texts,
    audit,
    auth,
    bulk,
    changes,
    collision,
    compose,
    drafts,
    files,
    filter_admin,
    group_admin,
    legacy,
    mail_admin,
    overviews,
    password_reset,
    preferences,
    privacy,
    privacy_export,
    public_backlog,
    queue_admin,
    redaction,
    relations,
    reports,
    search,
    sso,
    twofactor,
    webauthn,
    zoom,
)

T = "ticket/<str:number>/"

urlpatterns = [
    path("", overviews.dashboard, name="dashboard"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", sso.LogoutView.as_view(), name="logout"),
    path("sso/login/", sso.sso_login, name="sso-login"),
    path("sso/callback/", sso.sso_callback, name="sso-callback"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("preferences/sessions/", agent_sessions.sessions_view, name="sessions"),
    path(
        "preferences/password/",
        password_reset.PasswordChangeView.as_view(),
        name="password-change",
    ),
    path("password-reset/", password_reset.request_reset, name="password-reset"),
    path(
        "password-reset/done/",
        password_reset.reset_complete,
        name="password-reset-complete",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.ResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    # Two-factor authentication (docs/authentication.md)
    path("login/code/", twofactor.login_code, name="login-code"),
    path("login/key/options/", webauthn.login_options, name="login-key-options"),
    path("login/key/", webauthn.login, name="login-key"),
    path(
        "preferences/two-factor/keys/options/",
        webauthn.register_options,
        name="two-factor-key-options",
    ),
    path("preferences/two-factor/keys/", webauthn.register, name="two-factor-key-add"),
    path(
        "preferences/two-factor/keys/remove/",
        webauthn.remove,
        name="two-factor-key-remove",
    ),
    path("preferences/two-factor/", twofactor.overview, name="two-factor"),
    path("preferences/two-factor/setup/", twofactor.setup, name="two-factor-setup"),
    path("preferences/two-factor/codes/", twofactor.codes, name="two-factor-codes"),
    path(
        "preferences/two-factor/regenerate/",
        twofactor.regenerate,
        name="two-factor-regenerate",
    ),
    path(
        "preferences/two-factor/disable/", twofactor.disable, name="two-factor-disable"
    ),
    # Overviews
    path("queues/", overviews.queues, name="queues"),
    path("queues/<int:queue_id>/", overviews.queues, name="queue"),
    path("tickets/<slug:view>/", overviews.ticket_list, name="ticket-list"),
    path("search/", search.search, name="search"),
    path("search/advanced/", search.advanced_search, name="search-advanced"),
    # Mentions, out of office, saved searches (docs/web.md)
    path("mentions/", agentday.mentions_view, name="mentions"),
    path(
        "mentions/dismiss/",
        agentday.dismiss_all_mentions_view,
        name="mentions-dismiss-all",
    ),
    path(
        "mentions/<str:number>/dismiss/",
        agentday.dismiss_mention_view,
        name="mention-dismiss",
    ),
    path(
        "preferences/out-of-office/",
        agentday.out_of_office_view,
        name="out-of-office",
    ),
    path("searches/", agentday.saved_searches_view, name="saved-searches"),
    path("searches/new/", agentday.save_search_view, name="saved-search-new"),
    path(
        "searches/<int:search_id>/",
        agentday.run_saved_search_view,
        name="saved-search-run",
    ),
    path(
        "searches/<int:search_id>/edit/",
        agentday.edit_saved_search_view,
        name="saved-search-edit",
    ),
    path(
        "searches/<int:search_id>/delete/",
        agentday.delete_saved_search_view,
        name="saved-search-delete",
    ),
    path("bulk/", bulk.bulk_view, name="bulk"),
    path("new/email/", compose.new_email_ticket, name="new-email-ticket"),
    path("new/phone/", compose.new_phone_ticket, name="new-phone-ticket"),
    # Data protection (docs/data-protection.md): for holders of audit_reads only.
    path("audit/reads/", audit.reads, name="audit-reads"),
    path("audit/reads.csv", audit.reads_csv, name="audit-reads-csv"),
    # The administration area (docs/administration.md)
    path("administration/", queue_admin.index, name="admin-index"),
    # -- queues and answer texts (branch adminq) --
    path("administration/queues/", queue_admin.queues, name="admin-queues"),
    path("administration/queues/new/", queue_admin.queue_new, name="admin-queue-new"),
    path(
        "administration/queues/<int:queue_id>/",
        queue_admin.queue_page,
        name="admin-queue",
    ),
    path("administration/texts/<slug:kind>/", answer_texts.texts, name="admin-texts"),
    path(
        "administration/texts/<slug:kind>/new/",
        answer_texts.text_edit,
        name="admin-text-new",
    ),
    path(
        "administration/texts/<slug:kind>/<int:pk>/",
        answer_texts.text_edit,
        name="admin-text",
    ),
    # -- end of queues and answer texts --
    # Permissions at scale (docs/administration.md)
    path("administration/permissions/", administration.index, name="admin-permissions"),
    path(
        "administration/permissions/group/<int:group_id>/",
        administration.group_view,
        name="admin-permissions-group",
    ),
    path(
        "administration/permissions/agent/<int:agent_id>/",
        administration.agent_page,
        name="admin-permissions-agent",
    ),
    # Groups and roles (docs/administration.md "Groups and roles")
    path("administration/groups/", group_admin.groups, name="admin-groups"),
    path("administration/groups/new/", group_admin.group_page, name="admin-group-new"),
    path(
        "administration/groups/<int:group_id>/",
        group_admin.group_page,
        name="admin-group-edit",
    ),
    path("administration/roles/", group_admin.roles, name="admin-roles"),
    path("administration/roles/new/", group_admin.role_page, name="admin-role-new"),
    path(
        "administration/roles/<int:role_id>/", group_admin.role_page, name="admin-role"
    ),
    path(
        "administration/roles/<int:role_id>/members/",
        group_admin.role_members,
        name="admin-role-members",
    ),
    path("administration/agents/", agent_admin.agents, name="admin-agents"),
    path(
        "administration/agents/invite/", agent_admin.invite, name="admin-agents-invite"
    ),
    path(
        "administration/agents/<int:agent_id>/active/",
        agent_admin.set_active,
        name="admin-agent-active",
    ),
    path("invitation/<str:token>/", agent_admin.accept, name="invitation"),
    path("administration/templates/", administration.templates, name="admin-templates"),
    path(
        "administration/templates/new/",
        answer_texts.template_new,
        name="admin-template-new",
    ),
    path(
        "administration/templates/<int:template_id>/attachments/",
        answer_texts.template_attachment_add,
        name="admin-template-attachment-add",
    ),
    path(
        "administration/templates/<int:template_id>/attachments/<int:attachment_id>/"
        "remove/",
        answer_texts.template_attachment_remove,
        name="admin-template-attachment-remove",
    ),
    path(
        "administration/templates/<int:template_id>/",
        administration.template_edit,
        name="admin-template",
    ),
    # --- Mail and states (adminmail; docs/administration.md) ---------------------------
    path("administration/mail/", mail_admin.index, name="admin-mail"),
    path("administration/addresses/", mail_admin.addresses, name="admin-addresses"),
    path(
        "administration/addresses/new/",
        mail_admin.address_edit,
        name="admin-address-new",
    ),
    path(
        "administration/addresses/<int:address_id>/",
        mail_admin.address_edit,
        name="admin-address",
    ),
    path("administration/mail-accounts/", mail_admin.accounts, name="admin-accounts"),
    path(
        "administration/mail-accounts/new/",
        mail_admin.account_edit,
        name="admin-account-new",
    ),
    path(
        "administration/mail-accounts/<int:account_id>/",
        mail_admin.account_edit,
        name="admin-account",
    ),
    path("administration/filters/", filter_admin.filters, name="admin-filters"),
    path(
        "administration/filters/new/",
        filter_admin.filter_edit,
        name="admin-filter-new",
    ),
    path(
        "administration/filters/<int:filter_id>/",
        filter_admin.filter_edit,
        name="admin-filter",
    ),
    path("administration/states/", mail_admin.states, name="admin-states"),
    path("administration/states/new/", mail_admin.state_edit, name="admin-state-new"),
    path(
        "administration/states/<int:state_id>/",
        mail_admin.state_edit,
        name="admin-state",
    ),
    # --- end of Mail and states ---------------------------------------------------------
    # The zoom and what it hands out
    path(T, zoom.zoom, name="zoom"),
    path(T + "presence/", collision.presence_view, name="presence"),
    path(T + "draft/", drafts.draft_view, name="draft"),
    path("drafts/", drafts.my_drafts, name="my-drafts"),
    path("drafts/<int:draft_id>/discard/", drafts.discard_mine, name="discard-draft"),
    path(T + "attachment/<int:attachment_id>/", files.attachment, name="attachment"),
    path(
        T + "attachment/<int:attachment_id>/image/",
        files.attachment_image,
        name="attachment-image",
    ),
    path(T + "article/<int:article_id>/", zoom.article_partial, name="article"),
    path(T + "article/<int:article_id>/raw/", files.raw_source, name="article-raw"),
    path(T + "article/<int:article_id>/html/", files.article_html, name="article-html"),
    path(T + "article/<int:article_id>/split/", relations.split_view, name="split"),
    path(T + "article/<int:article_id>/redact/", redaction.redact_view, name="redact"),
    # Writing
    path(T + "reply/", compose.reply_view, name="reply"),
    path(T + "reply/template/", compose.reply_template_view, name="reply-template"),
    path(T + "template/", compose.ticket_template_view, name="ticket-template"),
    path(T + "forward/", compose.forward_view, name="forward"),
    path(T + "note/", compose.note_view, name="note"),
    path(T + "phone/", compose.phone_view, name="phone"),
    # Changing
    path(T + "move/", changes.move_view, name="move"),
    path(T + "owner/", changes.owner_view, name="owner"),
    path(T + "responsible/", changes.responsible_view, name="responsible"),
    path(T + "priority/", changes.priority_view, name="priority"),
    path(T + "state/", changes.state_view, name="state"),
    path(T + "close/", changes.close_view, name="close"),
    path(T + "lock/", changes.lock_view, name="lock"),
    path(T + "unlock/", changes.unlock_view, name="unlock"),
    path(T + "watch/", changes.watch_view, name="watch"),
    path(T + "unwatch/", changes.unwatch_view, name="unwatch"),
    path(T + "spam/", changes.spam_view, name="spam"),
    path(T + "not-spam/", changes.not_spam_view, name="not-spam"),
    path(T + "archive/", changes.archive_view, name="archive"),
    path(T + "unarchive/", changes.unarchive_view, name="unarchive"),
    path(T + "merge/", relations.merge_view, name="merge"),
    path(T + "unmerge/", relations.unmerge_view, name="unmerge"),
    path(T + "link/", relations.link_view, name="link"),
    path(T + "unlink/", relations.unlink_view, name="unlink"),
    path(T + "legal-hold/", privacy.legal_hold_view, name="legal-hold"),
    # Data protection (holders of handle_personal_data; docs/data-protection.md)
    path("privacy/", privacy.home, name="privacy"),
    path("privacy/retention/", privacy.retention_view, name="privacy-retention"),
    path("privacy/erasure/", privacy.erasure_view, name="privacy-erasure"),
    path("privacy/runs/<int:run_id>/", privacy.run_view, name="privacy-run"),
    # Data protection (docs/data-protection.md)
    path("privacy/exports/", privacy_export.exports_page, name="privacy-exports"),
    path(
        "privacy/exports/<int:export_id>/download/",
        privacy_export.export_download,
        name="privacy-export-download",
    ),
    path("reports/", reports.reports, name="reports"),
    path("reports/csv/", reports.reports_csv, name="reports-csv"),
    path("reports/mail/", reports.report_mail, name="report-mail"),
    path("public/backlog/", public_backlog.backlog_page, name="public-backlog"),
    # Old agent links of the replaced system (HELPLINE_LEGACY_URL_PREFIXES).
    re_path(
        r"^(?P<prefix>(?:[\w.-]+/)*)index\.pl$", legacy.legacy_link, name="legacy-link"
    ),
    # Before admin.site.urls: the admin's login would check passwords unthrottled.
    path("admin/", include([path("login/", auth.admin_login, name="admin-login")])),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler400 = "helpline.web.views.errors.bad_request"
handler403 = "helpline.web.views.errors.permission_denied"
handler404 = "helpline.web.views.errors.page_not_found"
handler500 = "helpline.web.views.errors.server_error"
