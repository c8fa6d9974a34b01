"""Accounts in the admin console: users and their roles, sessions, the audit log."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from coko.platform.errors import RateLimited, Unauthorized
from coko.platform.events.admin import register_event_admin

from . import services
from .models import AuditEvent, DeadLetter, InboxEntry, OutboxEvent, RefreshToken, SocialAccount, User

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


class AdminLoginForm(AdminAuthenticationForm):
    """The console's login checks the password like the API's login does: the same per-address
    limit, account lockout (and known-device budget, from the ``coko_device`` cookie) and audit
    lines, through ``services.credentials_verify``; then Django's own checks (active, staff)."""

    def clean(self):
        identifier, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if identifier is not None and password:
            try:
                user = services.credentials_verify(identifier=identifier, password=password,
                                                   client=services.Client.from_request(self.request))
            except RateLimited as exc:
                raise ValidationError(str(exc.message), code="locked_out") from None
            except Unauthorized:
                raise self.get_invalid_login_error() from None
            # login() needs to know which backend vouched for the user (there are two).
            user.backend = "django.contrib.auth.backends.ModelBackend"
            self.user_cache = user
            self.confirm_login_allowed(user)
            services.admin_login_audit(user_id=user.id, client=services.Client.from_request(self.request))
        return self.cleaned_data


admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Staff grant and revoke roles with the "Groups" field (user, premium, author, admin)."""

    ordering = ("-date_joined",)
    list_display = ("email", "display_name", "country", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "groups", "preferred_language")
    search_fields = ("email", "display_name")
    readonly_fields = ("id", "phone_hash", "last_login", "date_joined", "deletion_requested_at", "erased_at")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("display_name", "preferred_language", "country", "marketing_consent",
                                "email_verified_at", "phone_verified_at")}),
        ("Roles and permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                              "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "deletion_requested_at", "erased_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

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
    list_display = ("at", "action", "user_id", "ip")
    list_filter = ("action",)
    search_fields = ("user_id", "ip")
    ordering = ("-at",)

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
