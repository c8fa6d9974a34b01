"""Accounts in the admin console: users and their roles, sessions, the audit log; whether a
user has two-factor authentication on and their app passwords (read-only), and staff's reset
of a user's two-factor authentication (audited)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from coko.platform.errors import RateLimited, Unauthorized
from coko.platform.events.admin import register_event_admin

from . import services
from .models import (
    AuditEvent,
    DeadLetter,
    InboxEntry,
    OutboxEvent,
    RefreshToken,
    SocialAccount,
    TwoFactor,
    User,
)
from .selectors import phone_hash, phone_masked, phone_readable, phone_typed_e164

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


class AdminLoginForm(AdminAuthenticationForm):
    """The console's login checks the password like the API's login does: the same per-address
    limit, account lockout (and known-device budget, from the ``coko_device`` cookie) and audit
    lines, through ``services.console_credentials_verify``; with two-factor authentication on, the
    code too (``code``: the authenticator's or a recovery code); then Django's own checks (active,
    staff)."""

    code = forms.CharField(label=_("Two-factor code"), required=False, max_length=32,
                           help_text=_("Only if your account has two-factor authentication on."),
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))

    def clean(self):
        identifier, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if identifier is not None and password:
            try:
                user = services.console_credentials_verify(
                    identifier=identifier, password=password, code=self.cleaned_data.get("code") or "",
                    client=services.Client.from_request(self.request))
            except RateLimited as exc:
                raise ValidationError(str(exc.message), code="locked_out") from None
            except Unauthorized as exc:
                if exc.code == "invalid_two_factor_code":
                    raise ValidationError(str(exc.message), code="invalid_two_factor_code") from None
                raise self.get_invalid_login_error() from None
            # login() needs to know which backend vouched for the user (there are two).
            user.backend = "django.contrib.auth.backends.ModelBackend"
            self.user_cache = user
            self.confirm_login_allowed(user)
            services.admin_login_audit(user_id=user.id, client=services.Client.from_request(self.request))
        return self.cleaned_data


admin.site.login_form = AdminLoginForm
admin.site.login_template = "accounts/admin_login.html"  # Django's, with the code's row


def person(user: User) -> str:
    """How the console names a user: their name and email, else their (masked) number."""
    if user.display_name and user.email:
        return f"{user.display_name} <{user.email}>"
    return user.display_name or user.email or phone_masked(user.phone) or str(user.id)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Staff grant and revoke roles with the "Groups" field (user, premium, author, admin).

    The phone number is encrypted at rest: lists show it masked, the user's page shows it in
    clear and audits that (``phone.revealed``). Search finds a number however it is typed
    (through its keyed hash, ``phone_hash``), as well as emails and names.
    """

    ordering = ("-date_joined",)
    list_display = ("email", "phone_column", "display_name", "country", "is_active", "is_staff",
                    "two_factor_enabled", "date_joined")
    list_filter = ("is_active", "is_staff", "groups", "preferred_language")
    actions = ("two_factor_reset",)
    search_fields = ("email", "display_name")
    search_help_text = _("Email, name or phone number (any spelling, with its country code).")
    readonly_fields = ("id", "phone_shown", "two_factor_enabled", "app_passwords_shown", "last_login",
                       "date_joined", "deletion_requested_at", "erased_at")
    fieldsets = (
        (None, {"fields": ("id", "email", "phone_shown", "password")}),
        (_("Account safety"), {"fields": ("two_factor_enabled", "app_passwords_shown")}),
        ("Profile", {"fields": ("display_name", "preferred_language", "country", "marketing_consent",
                                "email_verified_at", "phone_verified_at")}),
        ("Roles and permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                              "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "deletion_requested_at", "erased_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_queryset(self, request):
        on = TwoFactor.objects.filter(user_id=OuterRef("pk"), confirmed_at__isnull=False)
        return super().get_queryset(request).annotate(two_factor_on=Exists(on))

    @admin.display(description=_("two-factor"), boolean=True, ordering="two_factor_on")
    def two_factor_enabled(self, user: User) -> bool:
        return user.two_factor_on

    @admin.display(description=_("app passwords"))
    def app_passwords_shown(self, user: User) -> str:
        """Read-only: the names and dates, never the passwords (only their keyed hashes are stored)."""
        rows = user.app_passwords.order_by("-created_at")
        if not rows:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", (
            (_("%(name)s — created %(created)s, last used %(used)s") % {
                "name": row.name, "created": f"{row.created_at:%Y-%m-%d}",
                "used": f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else _("never")},)
            for row in rows)))

    @admin.action(description=_("Reset two-factor authentication (the user logs in with their password alone)"))
    def two_factor_reset(self, request, queryset):
        client = services.Client.from_request(request)
        reset = sum(services.two_factor_reset(user_id=user.id, by_user_id=request.user.pk, client=client)
                    for user in queryset)
        self.message_user(request, _("Two-factor authentication reset for %(count)d user(s).") % {"count": reset},
                          messages.SUCCESS)

    @admin.display(description=_("phone"))
    def phone_column(self, user: User) -> str:
        return phone_masked(user.phone)

    @admin.display(description=_("phone"))
    def phone_shown(self, user: User) -> str:
        return phone_readable(user.phone)

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        e164 = phone_typed_e164(search_term) if search_term else None
        if e164 is not None:
            found |= queryset.filter(phone_hash=phone_hash(e164))
        return found, may_have_duplicates

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, object_id)
        if user is not None:
            extra_context = {**(extra_context or {}), "title": person(user), "subtitle": None}
        response = super().change_view(request, object_id, form_url, extra_context)
        if user is not None and user.phone and request.method == "GET" and response.status_code == 200:
            # After the console's transaction: the audit line is a use case of its own.
            services.phone_reveal_audit(user_id=user.id, by_user_id=request.user.pk, via="admin",
                                        client=services.Client.from_request(request))
        return response

    def save_related(self, request, form, formsets, change):
        before = set(form.instance.groups.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(form.instance.groups.values_list("name", flat=True))
        # In the console's own transaction: the groups and their audit lines commit together.
        services.roles_changed_audit(
            user_id=form.instance.id, before=before, after=after, by_user_id=request.user.pk, via="admin",
            client=services.Client.from_request(request))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The security log; each line names its account by email (a failed login's too, when the
    account exists: the log is for staff, the client's answer says nothing)."""

    list_display = ("at", "action", "account", "user_id", "ip", "details")
    list_filter = ("action",)
    search_fields = ("account_email", "user_id", "ip")
    search_help_text = _("Email, user id or IP address.")
    ordering = ("-at",)

    def get_queryset(self, request):
        email = User.objects.filter(id=OuterRef("user_id")).values("email")[:1]
        return super().get_queryset(request).annotate(account_email=Subquery(email))

    @admin.display(description=_("account"), ordering="account_email")
    def account(self, event: AuditEvent) -> str:
        return event.account_email or ""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "family_id", "created_at", "used_at", "revoked_at", "ip")
    search_fields = ("family_id",)
    readonly_fields = ("user", "family_id", "token_hash", "created_at", "expires_at", "used_at", "ip",
                       "user_agent")

    def has_add_permission(self, request):
        return False


admin.site.register(SocialAccount)
