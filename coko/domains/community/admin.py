"""Community in the admin console: forums staff create (named in French and English); reviews
and topics staff read; the event tables."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from coko.platform.events.admin import register_event_admin

from .models import DeadLetter, Forum, InboxEntry, OutboxEvent, Review, Topic

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews as readers wrote them: read only (readers edit their own; moderation acts through the use cases)."""

    list_display = ("book_id", "user_id", "rating", "language", "spoiler", "helpful_count", "created_at")
    list_filter = ("rating", "language", "spoiler")
    search_fields = ("book_id", "user_id", "text")
    readonly_fields = [f.name for f in Review._meta.concrete_fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ForumForm(forms.ModelForm):
    """A forum's names and descriptions as one field per language (stored as ``{"fr": …, "en": …}``)."""

    name_fr = forms.CharField(label="Name (French)", max_length=120)
    name_en = forms.CharField(label="Name (English)", max_length=120)
    description_fr = forms.CharField(label="Description (French)", required=False, widget=forms.Textarea)
    description_en = forms.CharField(label="Description (English)", required=False, widget=forms.Textarea)

    class Meta:
        model = Forum
        fields = ("slug", "position")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for lang in ("fr", "en"):
            self.fields[f"name_{lang}"].initial = self.instance.names.get(lang, "")
            self.fields[f"description_{lang}"].initial = self.instance.descriptions.get(lang, "")

    def save(self, commit=True):
        forum = super().save(commit=False)
        forum.names = {lang: self.cleaned_data[f"name_{lang}"].strip() for lang in ("fr", "en")}
        forum.descriptions = {lang: self.cleaned_data[f"description_{lang}"].strip() for lang in ("fr", "en")
                              if self.cleaned_data[f"description_{lang}"].strip()}
        if commit:
            forum.save()
        return forum


@admin.register(Forum)
class ForumAdmin(admin.ModelAdmin):
    """Staff create and rename forums; a forum with topics is not deleted (its threads would go)."""

    form = ForumForm
    list_display = ("slug", "__str__", "position", "created_at")
    ordering = ("position", "slug")

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.topics.exists()


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    """Topics as readers opened them: staff read them; pins and locks go through the moderation route."""

    list_display = ("title", "forum", "pinned", "locked", "post_count", "last_posted_at")
    list_filter = ("pinned", "locked", "forum")
    search_fields = ("title",)
    readonly_fields = [f.name for f in Topic._meta.concrete_fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
