"""Content negotiation as strict as the schema: `?format=` names one of the
view's renderers (the schema lists them as an enum). DRF would ignore an empty
`format=`; it is refused like an unknown one, with a 404."""

from __future__ import annotations

from django.http import Http404
from rest_framework.negotiation import DefaultContentNegotiation


class StrictContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        name = self.settings.URL_FORMAT_OVERRIDE
        if not format_suffix and name and request.query_params.get(name, None) == "":
            raise Http404(f"No renderer for the empty `{name}`.")
        return super().select_renderer(request, renderers, format_suffix)
