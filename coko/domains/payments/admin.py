"""Payments in the admin console: plans staff edit; orders, payments, provider events, the
ledger, passes and flags staff read; refunds and code batches staff make through the use cases."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.html import format_html_join

from coko.platform.errors import DomainError
from coko.platform import money
from coko.platform.events.admin import register_event_admin

from . import services
from .models import (
    AccessCode,
    CodeBatch,
    DeadLetter,
    Flag,
    InboxEntry,
    JournalEntry,
    JournalLine,
    Order,
    OutboxEvent,
    Payment,
    Plan,
    PlanPrice,
    ProviderEvent,
    SellableBook,
    Subscription,
)

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


class ReadOnly:
    """Records only the use cases write: staff read them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- what is for sale ---------------------------------------------------------------------------------
class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    extra = 1
    fields = ("currency", "amount")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_fr", "name_en", "period", "scope", "prices_column", "active", "position")
    list_editable = ("active", "position")
    list_filter = ("active", "period", "scope")
    fields = ("slug", "names", "period", "scope", "collection_slug", "active", "position")
    inlines = [PlanPriceInline]

    @admin.display(description="name (fr)")
    def name_fr(self, plan: Plan) -> str:
        return plan.names.get("fr", "")

    @admin.display(description="name (en)")
    def name_en(self, plan: Plan) -> str:
        return plan.names.get("en", "")

    @admin.display(description="prices")
    def prices_column(self, plan: Plan) -> str:
        return " · ".join(money.display(amount=p.amount, currency=p.currency, language="fr") for p in plan.prices.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prices")


@admin.register(SellableBook)
class SellableBookAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("title", "status", "access_model", "price_column", "catalog_version", "updated_at")
    list_filter = ("status", "access_model")
    search_fields = ("title", "=book_id")

    @admin.display(description="price")
    def price_column(self, book: SellableBook) -> str:
        if not book.price_amount or not book.price_currency:
            return ""
        return money.display(amount=book.price_amount, currency=book.price_currency, language="fr")


# --- orders and payments --------------------------------------------------------------------------------
class RefundForm(ActionForm):
    reason = forms.CharField(required=False, max_length=200, help_text="why (kept in the ledger)")


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ("provider", "reference", "provider_ref", "status", "amount", "currency", "failure", "created_at",
              "settled_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "user_id", "kind", "what", "amount_column", "status", "created_at", "paid_at")
    list_filter = ("status", "kind", "currency")
    search_fields = ("=id", "=user_id", "=book_id", "payments__reference", "payments__provider_ref")
    list_select_related = ("plan",)
    ordering = ("-created_at",)
    inlines = [PaymentInline]
    action_form = RefundForm
    actions = ["refund"]

    @admin.display(description="buys")
    def what(self, order: Order) -> str:
        return order.plan.slug if order.plan else f"book {order.book_id}"

    @admin.display(description="amount", ordering="amount")
    def amount_column(self, order: Order) -> str:
        return money.display(amount=order.amount, currency=order.currency, language="fr")

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_staff  # the list (for the refund action), never an edit

    @admin.action(description="Refund the selected paid orders (give a reason)")
    def refund(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if len(reason) < 3:
            self.message_user(request, "A refund needs a reason (3 characters or more).", messages.ERROR)
            return
        for order in queryset:
            try:
                services.order_refund_with_provider(order_id=order.id, reason=reason, actor_id=request.user.id)
            except DomainError as exc:
                self.message_user(request, f"{order.id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.id}: refunded", messages.SUCCESS)


class ProviderEventInline(admin.TabularInline):
    model = ProviderEvent
    extra = 0
    fields = ("event_id", "event_type", "received_at", "processed_at", "outcome", "body")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("reference", "provider", "provider_ref", "status", "amount", "currency", "created_at", "settled_at")
    list_filter = ("provider", "status")
    search_fields = ("=reference", "=provider_ref", "=order__id", "=order__user_id")
    exclude = ("secret",)
    ordering = ("-created_at",)
    inlines = [ProviderEventInline]


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("provider", "event_type", "event_id", "payment", "received_at", "processed_at", "outcome")
    list_filter = ("provider", "event_type", "outcome")
    search_fields = ("=event_id", "=payment__reference")
    ordering = ("-received_at",)


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ("kind", "provider", "payment", "created_at", "resolved_at")
    list_filter = ("kind", "provider", ("resolved_at", admin.EmptyFieldListFilter))
    readonly_fields = ("kind", "payment", "provider", "details", "created_at", "resolved_at")
    fields = readonly_fields + ("resolved_note",)
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # never resolved by deleting

    def save_model(self, request, obj, form, change):
        from coko.platform import clock

        if obj.resolved_note and obj.resolved_at is None:
            obj.resolved_at = clock.now()
        super().save_model(request, obj, form, change)


# --- the ledger -----------------------------------------------------------------------------------------
class JournalLineInline(admin.TabularInline):
    model = JournalLine
    extra = 0
    fields = ("account", "amount", "currency")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "at", "kind", "order", "memo")
    list_filter = ("kind",)
    search_fields = ("=order__id", "memo")
    ordering = ("-id",)
    inlines = [JournalLineInline]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("user_id", "plan", "status", "source", "starts_at", "ends_at", "grace_until", "cancelled_at")
    list_filter = ("status", "source", "plan")
    search_fields = ("=user_id", "=id")
    list_select_related = ("plan",)
    ordering = ("-created_at",)


# --- institution codes ------------------------------------------------------------------------------------
class CodeBatchForm(forms.ModelForm):
    count = forms.IntegerField(min_value=1, max_value=services.BATCH_MAX, initial=50,
                               help_text="how many codes to make")

    class Meta:
        model = CodeBatch
        fields = ("organisation", "plan", "uses_per_code", "expires_at")


@admin.register(CodeBatch)
class CodeBatchAdmin(admin.ModelAdmin):
    list_display = ("organisation", "plan", "uses_per_code", "codes_used", "created_at", "expires_at")
    list_select_related = ("plan",)
    search_fields = ("organisation",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CodeBatchForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("organisation", "plan", "count", "uses_per_code", "expires_at")
        return ("organisation", "plan", "uses_per_code", "expires_at", "created_at", "codes")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("organisation", "plan", "uses_per_code", "created_at", "codes")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="codes used")
    def codes_used(self, batch: CodeBatch) -> str:
        codes = list(batch.codes.values_list("uses", flat=True))
        return f"{sum(1 for uses in codes if uses)} / {len(codes)} ({sum(codes)} uses)"

    @admin.display(description="codes (uses)")
    def codes(self, batch: CodeBatch) -> str:
        return format_html_join(", ", "<code>{}</code> ({})",
                                ((c.code, c.uses) for c in AccessCode.objects.filter(batch=batch).order_by("id")))

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        made = services.code_batch_make(
            actor_id=request.user.id, organisation=form.cleaned_data["organisation"],
            plan_slug=form.cleaned_data["plan"].slug, count=form.cleaned_data["count"],
            uses_per_code=form.cleaned_data["uses_per_code"], expires_at=form.cleaned_data["expires_at"])
        obj.pk = made.batch.pk
        obj.created_by, obj.created_at = made.batch.created_by, made.batch.created_at
        obj._state.adding = False
