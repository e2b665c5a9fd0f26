from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from refunds.errors import RefundError
from refunds.models import CaseStatus

from .selectors import CaseQuery

SORT_CHOICES = [
    ("-date", "Newest first"),
    ("date", "Oldest first"),
    ("-amount", "Largest amount first"),
    ("amount", "Smallest amount first"),
]
MAX_FILES = 5


class DateInput(forms.DateInput):
    input_type = "date"


class CaseFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=100, help_text="Case ID, order number or SKU"
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *CaseStatus.choices])
    reason = forms.ChoiceField(label="Reason", required=False, choices=[])
    date_from = forms.DateField(label="From", required=False, widget=DateInput)
    date_to = forms.DateField(label="To", required=False, widget=DateInput)
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    waiting = forms.BooleanField(label="Waiting for my answer", required=False)

    def __init__(self, *args: Any, reasons: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "Any reason"), *reasons]

    def to_query(self) -> CaseQuery:
        # An invalid field is left out of cleaned_data (and shown as an error);
        # the valid ones still apply.
        self.is_valid()
        data = self.cleaned_data
        return CaseQuery(
            status=data.get("status") or "",
            reason=data.get("reason") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=(data.get("q") or "").strip(),
            sort=data.get("sort") or "-date",
            waiting=bool(data.get("waiting")),
        )


class ServiceErrorMixin:
    """Shows a RefundError on the field it names, or above the form otherwise."""

    def add_service_error(self, error: RefundError) -> None:
        field = error.field if error.field in self.fields else None  # type: ignore[attr-defined]
        if field is None and error.field == "file":
            field = "files"
        self.add_error(field, error.message)  # type: ignore[attr-defined]


class AcknowledgeForm(ServiceErrorMixin, forms.Form):
    message = forms.CharField(
        label="Message (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Both answer forms sit on one page: keep their element ids apart.
        kwargs.setdefault("auto_id", "acknowledge_%s")
        super().__init__(*args, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, (list, tuple)) else [data]
        files = [super(MultipleFileField, self).clean(item, initial) for item in items if item]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files.")
        return files


class DisputeForm(ServiceErrorMixin, forms.Form):
    message = forms.CharField(
        label="Why do you dispute your part?",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    files = MultipleFileField(label="Evidence (optional)", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "dispute_%s")
        super().__init__(*args, **kwargs)
